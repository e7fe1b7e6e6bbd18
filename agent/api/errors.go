package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"posagent/agent"
)

// Error codes of the {"code","message"} body. They are stable: cashier
// software branches on them.
const (
	CodeUnauthorized   = "unauthorized"    // 401: no or wrong bearer token
	CodeInvalidRequest = "invalid_request" // 400: malformed JSON or a bad field (see Field)
	CodeNotFound       = "not_found"       // 404: no such payment or route
	CodeMethod         = "method_not_allowed"
	CodeBusy           = "busy"        // 409: a payment is in flight on the reader (see InFlight)
	CodeConflict       = "conflict"    // 409: id already used with a different request
	CodeWrongState     = "wrong_state" // 409: operation not allowed in the payment's state
	CodeTooLarge       = "too_large"   // 413: request body too large
	CodeUnsupported    = "unsupported_media_type"
	CodeShuttingDown   = "shutting_down" // 503: the engine is closing
	CodeTimeout        = "timeout"       // 504: the engine did not answer in time
	CodeInternal       = "internal"      // 500
)

// Error is an API error as the JSON body carries it; the client returns it
// too. It unwraps to the agent sentinel its code stands for, so
// errors.Is(err, agent.ErrBusy) works on both sides of the socket.
type Error struct {
	Status   int    `json:"-"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	Field    string `json:"field,omitempty"`     // invalid_request: the request field
	InFlight string `json:"in_flight,omitempty"` // busy: the payment in flight
}

func (e *Error) Error() string {
	return fmt.Sprintf("posagent api: %d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the agent sentinel of the code (nil for other codes).
func (e *Error) Unwrap() error {
	switch e.Code {
	case CodeNotFound:
		return agent.ErrNotFound
	case CodeBusy:
		return agent.ErrBusy
	case CodeConflict:
		return agent.ErrConflict
	case CodeWrongState:
		return agent.ErrWrongState
	case CodeInvalidRequest:
		return agent.ErrInvalid
	case CodeShuttingDown:
		return agent.ErrClosed
	}
	return nil
}

// ErrorFor maps an engine error to the API's error (status and stable
// code); handlers mounted beside the API use it to answer alike.
func ErrorFor(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var be *agent.BusyError
	var ie *agent.InvalidError
	switch {
	case errors.As(err, &be):
		return &Error{Status: http.StatusConflict, Code: CodeBusy, Message: "payment " + be.InFlight + " is in flight on the reader", InFlight: be.InFlight}
	case errors.Is(err, agent.ErrBusy):
		return &Error{Status: http.StatusConflict, Code: CodeBusy, Message: "a payment is in flight on the reader"}
	case errors.As(err, &ie):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: ie.Field + ": " + ie.Reason, Field: ie.Field}
	case errors.Is(err, agent.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: err.Error()}
	case errors.Is(err, agent.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no such payment"}
	case errors.Is(err, agent.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "id already used with a different request"}
	case errors.Is(err, agent.ErrWrongState):
		return &Error{Status: http.StatusConflict, Code: CodeWrongState, Message: err.Error()}
	case errors.Is(err, agent.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeShuttingDown, Message: "the agent is shutting down"}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusGatewayTimeout, Code: CodeTimeout, Message: "the engine did not answer in time"}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
}

// WriteError sends e as the JSON body {"code","message",...} with its status.
func WriteError(w http.ResponseWriter, e *Error) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="posagent"`)
	}
	writeJSON(w, e.Status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.Encode(v)
}
