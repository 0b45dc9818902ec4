package refstore

import (
	"errors"
	"strconv"
)

// Code is the code of a failed call: the codes of store.h ("Errors"),
// numbered as absl::StatusCode and gRPC, as refstore_code_t in c.h.
// Any other absl::StatusCode may reach the caller as its number.
type Code int

// The codes a call may fail with (c.h refstore_code_t).
const (
	CodeOK                 Code = 0
	CodeInvalidArgument    Code = 3  // bad input
	CodeNotFound           Code = 5  // no such image/container/lease; ambiguous reference
	CodeAlreadyExists      Code = 6  // container or lease ID taken
	CodeResourceExhausted  Code = 8  // the disk is full
	CodeFailedPrecondition Code = 9  // docker's conflict (409); a read-only store
	CodeAborted            Code = 10 // "a prune operation is already running"
	CodeUnimplemented      Code = 12 // not implemented
	CodeInternal           Code = 13 // RocksDB failed otherwise
	CodeUnavailable        Code = 14 // held by another process; an I/O error
	CodeDataLoss           Code = 15 // a damaged record or file
)

var codeNames = map[Code]string{
	CodeOK:                 "OK",
	CodeInvalidArgument:    "InvalidArgument",
	CodeNotFound:           "NotFound",
	CodeAlreadyExists:      "AlreadyExists",
	CodeResourceExhausted:  "ResourceExhausted",
	CodeFailedPrecondition: "FailedPrecondition",
	CodeAborted:            "Aborted",
	CodeUnimplemented:      "Unimplemented",
	CodeInternal:           "Internal",
	CodeUnavailable:        "Unavailable",
	CodeDataLoss:           "DataLoss",
}

// String returns the code's absl name ("NotFound"), or "Code(<n>)" for a
// number without a name here.
func (c Code) String() string {
	if name, ok := codeNames[c]; ok {
		return name
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}

// OplogName returns the error code the operation log (OPLOG.md) writes for
// c: "invalid_argument", "not_found", "conflict" (FailedPrecondition and
// Aborted), "already_exists", "failed_precondition" (Unimplemented),
// "data_loss", and "internal" for every other code. It is what
// refstore_error_code_name returns in C.
func (c Code) OplogName() string {
	switch c {
	case CodeInvalidArgument:
		return "invalid_argument"
	case CodeNotFound:
		return "not_found"
	case CodeFailedPrecondition, CodeAborted:
		return "conflict"
	case CodeAlreadyExists:
		return "already_exists"
	case CodeUnimplemented:
		return "failed_precondition"
	case CodeDataLoss:
		return "data_loss"
	default:
		return "internal"
	}
}

// Error is the error of a failed call: the store's code and the message of
// the C++ call, which names the key involved ("No such image:
// alpine:3.18"). A call that fails has changed nothing.
//
// Match the kind of an error with errors.Is and the sentinels below
// (errors.Is(err, refstore.ErrNotFound)), or get the whole value with
// errors.As.
type Error struct {
	Code    Code
	Message string
}

// Error returns the message (the store's own text, unprefixed, so that it
// can be shown to a docker user as it is), or the code's name when there is
// no message.
func (e *Error) Error() string {
	if e.Message == "" {
		return "refstore: " + e.Code.String()
	}
	return e.Message
}

// Is reports whether target is an *Error with the same code and either no
// message (as the sentinels ErrNotFound, ...) or the same message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Sentinels, one per code of c.h: errors.Is(err, ErrNotFound) is true for
// every *Error with CodeNotFound, whatever its message.
var (
	// ErrInvalidArgument: bad input (a bad reference, descriptor, filter,
	// namespace, or a time outside the times a store keeps).
	ErrInvalidArgument = &Error{Code: CodeInvalidArgument}
	// ErrNotFound: no such image, container or lease; an ambiguous reference.
	ErrNotFound = &Error{Code: CodeNotFound}
	// ErrAlreadyExists: the container or lease ID is taken.
	ErrAlreadyExists = &Error{Code: CodeAlreadyExists}
	// ErrResourceExhausted: the disk is full.
	ErrResourceExhausted = &Error{Code: CodeResourceExhausted}
	// ErrFailedPrecondition: docker's conflict (409: an image in use, a
	// container running), or a change asked of a read-only store.
	ErrFailedPrecondition = &Error{Code: CodeFailedPrecondition}
	// ErrConflict is ErrFailedPrecondition under docker's name (the same
	// value): errors.Is(err, ErrConflict) is true for every
	// FailedPrecondition error. (The operation log also says "conflict" for
	// Aborted: match ErrAborted for that.)
	ErrConflict = ErrFailedPrecondition
	// ErrAborted: "a prune operation is already running".
	ErrAborted = &Error{Code: CodeAborted}
	// ErrUnimplemented: not implemented.
	ErrUnimplemented = &Error{Code: CodeUnimplemented}
	// ErrInternal: RocksDB failed otherwise (the message names the key).
	ErrInternal = &Error{Code: CodeInternal}
	// ErrUnavailable: the store is held by another process (Open), or an
	// I/O error: retrying may succeed.
	ErrUnavailable = &Error{Code: CodeUnavailable}
	// ErrDataLoss: a stored record could not be decoded, or a file of the
	// store is damaged or missing.
	ErrDataLoss = &Error{Code: CodeDataLoss}
)

// ErrClosed is returned by every call on a Store after Close (it is not an
// *Error: no call reached the store).
var ErrClosed = errors.New("refstore: the store is closed")
