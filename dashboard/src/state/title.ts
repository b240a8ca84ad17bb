import { useEffect } from 'react';

/** The tab title names the page, so history, tabs and screen readers tell pages apart. */
export function useTitle(...parts: Array<string | undefined>) {
  const title = [...parts.filter(Boolean), 'Holdfast'].join(' · ');
  useEffect(() => {
    document.title = title;
  }, [title]);
}
