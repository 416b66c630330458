package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/govs/govs/internal/api/web/status"
)

// apiTimeout bounds the daemon's answer to one API request.
const apiTimeout = 10 * time.Second

// maxBody bounds an admin request's body.
const maxBody = 64 << 10

func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) (status.Snapshot, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	snap, err := s.opts.Backend.Snapshot(ctx)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "taking a status snapshot: "+err.Error())
		return status.Snapshot{}, false
	}
	return snap, true
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	if snap, ok := s.snapshot(w, r); ok {
		writeJSON(w, http.StatusOK, snap)
	}
}

func (s *Server) getVRRP(w http.ResponseWriter, r *http.Request) {
	if snap, ok := s.snapshot(w, r); ok {
		writeJSON(w, http.StatusOK, snap.VRRP)
	}
}

func (s *Server) getServices(w http.ResponseWriter, r *http.Request) {
	if snap, ok := s.snapshot(w, r); ok {
		writeJSON(w, http.StatusOK, snap.Services)
	}
}

func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) {
	if snap, ok := s.snapshot(w, r); ok {
		writeJSON(w, http.StatusOK, snap.Events)
	}
}

// AdminRequest is the body of POST /api/v1/admin/{drain,weight,enable}.
type AdminRequest struct {
	// Service is the virtual service as the API shows it: "TCP 192.0.2.1:80", "FWM 7".
	Service string `json:"service"`
	// Server is the real server's IP:PORT.
	Server string `json:"server"`
	// Weight is the new weight, for /weight only.
	Weight *int `json:"weight,omitempty"`
}

// maxWeight is IPVS's largest weight (a signed 32-bit value).
const maxWeight = 1<<31 - 1

func (s *Server) postAdmin(w http.ResponseWriter, r *http.Request) {
	if s.opts.Token == "" {
		writeError(w, http.StatusForbidden, "the admin API is off: start govs with --http-token to use it")
		return
	}
	action := Action(r.PathValue("action"))
	if !slices.Contains([]Action{ActionDrain, ActionWeight, ActionEnable}, action) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no admin operation %q: want drain, weight or enable", action))
		return
	}
	// Requiring JSON keeps plain cross-site form posts out: a browser sends this
	// content type elsewhere only after a CORS preflight, which this server refuses.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "want Content-Type: application/json")
		return
	}
	op, err := decodeAdmin(http.MaxBytesReader(w, r.Body, maxBody), action)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	if err := s.opts.Backend.Admin(ctx, op); err != nil {
		code := http.StatusConflict
		switch {
		case errors.Is(err, ErrNotFound):
			code = http.StatusNotFound
		case errors.Is(err, context.DeadlineExceeded):
			code = http.StatusServiceUnavailable
		}
		writeError(w, code, err.Error())
		return
	}
	s.log.Info("admin operation", "action", string(op.Action), "service", op.Service.String(), "rs", op.Server.String(), "weight", op.Weight, "remote", r.RemoteAddr)
	snap, ok := s.snapshot(w, r)
	if !ok {
		return
	}
	for _, svc := range snap.Services {
		if svc.Key != op.Service.String() {
			continue
		}
		for _, rs := range svc.RealServers {
			if rs.Address == op.Server.String() {
				writeJSON(w, http.StatusOK, rs)
				return
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "applied"})
}

// decodeAdmin reads an admin request; its errors name the field at fault or the byte
// where the JSON went wrong.
func decodeAdmin(body io.Reader, action Action) (AdminOp, error) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var req AdminRequest
	if err := dec.Decode(&req); err != nil {
		return AdminOp{}, jsonError(dec, err)
	}
	if dec.More() {
		return AdminOp{}, fmt.Errorf("malformed JSON: more data after the object at byte %d", dec.InputOffset())
	}
	op := AdminOp{Action: action}
	var err error
	if req.Service == "" {
		return AdminOp{}, errors.New(`field "service": missing (e.g. "TCP 192.0.2.1:80" or "FWM 7")`)
	}
	if op.Service, err = status.ParseServiceKey(req.Service); err != nil {
		return AdminOp{}, fmt.Errorf("field \"service\": %w", err)
	}
	if req.Server == "" {
		return AdminOp{}, errors.New(`field "server": missing (IP:PORT of the real server)`)
	}
	if op.Server, err = netip.ParseAddrPort(req.Server); err != nil {
		return AdminOp{}, fmt.Errorf("field \"server\": %q is not IP:PORT", req.Server)
	}
	switch {
	case action == ActionWeight && req.Weight == nil:
		return AdminOp{}, errors.New(`field "weight": missing (0..2147483647)`)
	case action == ActionWeight && (*req.Weight < 0 || *req.Weight > maxWeight):
		return AdminOp{}, fmt.Errorf("field \"weight\": %d is out of range 0..2147483647", *req.Weight)
	case action != ActionWeight && req.Weight != nil:
		return AdminOp{}, fmt.Errorf("field \"weight\": only /api/v1/admin/weight takes a weight, not %s", action)
	case action == ActionWeight:
		op.Weight = *req.Weight
	}
	return op, nil
}

func jsonError(dec *json.Decoder, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("malformed JSON at byte %d: %v", syntax.Offset, err)
	case errors.As(err, &typ):
		return fmt.Errorf("field %q: want a %s, not a JSON %s (byte %d)", typ.Field, typ.Type, typ.Value, typ.Offset)
	case errors.As(err, &tooBig):
		return fmt.Errorf("request body larger than %d bytes", tooBig.Limit)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("%s: want service, server and, for /weight, weight", strings.TrimPrefix(err.Error(), "json: "))
	case errors.Is(err, io.EOF):
		return errors.New("empty body: want a JSON object with service and server")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("malformed JSON: the body ends inside a value (byte %d)", dec.InputOffset())
	}
	return fmt.Errorf("malformed JSON: %v", err)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Error: msg})
}
