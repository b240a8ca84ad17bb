import { Component, type ReactNode } from 'react';

interface State {
  failed: boolean;
}

/** A page that fails to render shows this instead of taking the whole app down with it. */
export class PageErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { failed: false };

  static getDerivedStateFromError(): State {
    return { failed: true };
  }

  componentDidCatch(error: unknown) {
    // Kept in the browser console for a bug report; never sent anywhere.
    console.warn('holdfast dashboard: a page failed to render', error);
  }

  render() {
    if (!this.state.failed) return this.props.children;
    return (
      <div className="state state--error" role="alert">
        <p className="state__title">This page could not be shown</p>
        <p className="state__body">The dashboard met data it did not expect. Other pages still work; reloading may help.</p>
        <button type="button" className="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
