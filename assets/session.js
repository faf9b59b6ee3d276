// When a session ends while a page is open (signed out elsewhere, idle too long, the account
// disabled, the commissioner link revoked or expired), the server answers the page's next
// request with 401. Go to the sign-in page instead of leaving a page that silently stops.
(function () {
  var original = window.fetch;
  if (!original) { return; }
  window.fetch = function () {
    return original.apply(this, arguments).then(function (response) {
      if (response.status === 401 && response.url.indexOf("/_dash-") !== -1) {
        window.location.assign("/login?ended=1");
      }
      return response;
    });
  };
})();
