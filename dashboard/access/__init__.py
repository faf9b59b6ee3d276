"""Who may see what: accounts, commissioner links, sign-in, and the guard in front of every
route. The audience of a request (manager or commissioner) is decided here, on the server, from
the session; nothing the browser sends can choose it."""
