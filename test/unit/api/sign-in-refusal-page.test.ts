// The page a browser is shown for a refused single sign-on: a title and advice per kind of refusal,
// the refusal's status code, and the reason as text (never as markup).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HoldfastError, type ErrorReason } from '../../../core/errors.js';
import { signInRefusalPage } from '../../../api/sign-in-refusal-page.js';

describe('signInRefusalPage', () => {
  const cases: Array<[ErrorReason, number, string, RegExp]> = [
    ['Forbidden', 403, 'Single sign-on refused', /ask its administrator to let yours in/],
    ['Unauthorized', 401, 'Single sign-on failed', /server's clock/],
    ['BadRequest', 400, 'Sign-in not in progress', /Start again from the sign-in page/],
    ['ServiceUnavailable', 503, 'Sign-in provider unreachable', /--oidc-issuer/],
    ['NotFound', 404, 'No single sign-on here', /sign in with a user name and password/],
    ['InternalError', 500, 'Sign-in failed', /Start again from the sign-in page/],
  ];
  for (const [reason, status, title, advice] of cases) {
    it(`${reason}: ${status}, "${title}"`, () => {
      const page = signInRefusalPage(new HoldfastError(reason, 'the reason'));
      assert.equal(page.status, status);
      assert.ok(page.html.includes(`<h1>${title.replace("'", '&#39;')}</h1>`), page.html);
      assert.match(page.html.replaceAll('&#39;', "'"), advice);
      assert.match(page.html, /<p class="reason" role="alert">the reason<\/p>/);
    });
  }

  it('shows the reason as text, whatever it holds', () => {
    const page = signInRefusalPage(new HoldfastError('Forbidden', 'single sign-on refused: <script>alert(1)</script>@x.example & "more"'));
    assert.ok(!page.html.includes('<script>'));
    assert.match(page.html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;@x\.example &#38; &#34;more&#34;/);
    assert.match(page.csp, /default-src 'none'/);
  });
});
