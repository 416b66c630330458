package web

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// tokenCookie carries the token for a browser, which cannot add an Authorization
// header to the dashboard's own requests.
const tokenCookie = "govs_token"

// authenticate lets a request through when no token is configured, or when it carries
// the token as "Authorization: Bearer TOKEN" or in the cookie. A GET with ?token=TOKEN
// sets the cookie and redirects to the same URL without the token, so it does not stay
// in the address bar or the history.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.opts.Token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); r.Method == http.MethodGet && q.Has("token") {
			if !s.tokenOK(q.Get("token")) {
				s.unauthorized(w, r, "wrong token")
				return
			}
			http.SetCookie(w, &http.Cookie{
				Name: tokenCookie, Value: s.opts.Token, Path: "/",
				HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
			})
			q.Del("token")
			u := *r.URL
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		if auth := r.Header.Get("Authorization"); auth != "" {
			scheme, token, _ := strings.Cut(auth, " ")
			if !strings.EqualFold(scheme, "Bearer") || !s.tokenOK(strings.TrimSpace(token)) {
				s.unauthorized(w, r, "wrong token")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if c, err := r.Cookie(tokenCookie); err == nil && s.tokenOK(c.Value) {
			next.ServeHTTP(w, r)
			return
		}
		s.unauthorized(w, r, "this govs needs a token: send \"Authorization: Bearer TOKEN\", or open /?token=TOKEN in a browser")
	})
}

// tokenOK compares in constant time, so response times do not leak the token.
func (s *Server) tokenOK(token string) bool {
	return subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.Token)) == 1
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	s.log.Debug("unauthorized request", "remote", r.RemoteAddr, "path", r.URL.Path)
	w.Header().Set("WWW-Authenticate", `Bearer realm="govs"`)
	writeError(w, http.StatusUnauthorized, msg)
}
