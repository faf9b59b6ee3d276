// When a session ends while a page is open (signed out elsewhere, idle too long, the account
// disabled, the commissioner link revoked or expired), the server answers the page's next
// request with 401. Go to the sign-in page instead of leaving a page that silently stops. The
// refused response never reaches Dash (its renderer reads a 401's body twice and throws), and a
// "sis-session-ended" event says what happened.
(function () {
  var original = window.fetch;
  if (!original) { return; }
  window.fetch = function () {
    return original.apply(this, arguments).then(function (response) {
      if (response.status === 401 && response.url.indexOf("/_dash-") !== -1) {
        window.dispatchEvent(new CustomEvent("sis-session-ended", {
          detail: {url: response.url, status: response.status}
        }));
        window.location.assign("/login?ended=1");
        return new Promise(function () {}); // the page is leaving
      }
      return response;
    });
  };
})();
