package refstore

// The public contract's scenario files (tests/scenarios/*.jsonl; format:
// OPLOG.md "Scenario files"), run two ways, each scenario on a fresh store:
//
//   - TestScenariosApplyJSON feeds every line to Store.ApplyJSON, as the
//     runner tests/run-scenarios feeds them to `refstore apply`;
//   - TestScenariosTypedAPI decodes every line in Go (strictly, as
//     refstore/oplog/oplog_json.cc decodes it), calls the typed method,
//     and encodes the result as apply_line.cc does.
//
// Both match each line's "expect" with run-scenarios' rules: objects match
// when every expected key matches; lists when they have the same length and
// each expected item matches a distinct item in any order; numbers compare
// numerically, other scalars exactly.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scenarioDir is the project's copy of the scenarios, relative to this
// package (bindings/go).
const scenarioDir = "../../tests/scenarios"

// scenarioStep is one operation line of a scenario file.
type scenarioStep struct {
	feed   []byte // the line given to the store: "raw" as is, else the op without "expect"
	raw    bool   // a {"raw": ...} line
	expect any    // nil: no expectation
	shown  string // for messages
}

type scenario struct {
	name  string
	steps []scenarioStep
}

func loadScenarios(t *testing.T) []scenario {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(scenarioDir, "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no scenario files in %s", scenarioDir)
	}
	sort.Strings(files)
	var out []scenario
	for _, file := range files {
		out = append(out, loadScenario(t, file))
	}
	return out
}

func loadScenario(t *testing.T, file string) scenario {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sc := scenario{name: strings.TrimSuffix(filepath.Base(file), ".jsonl")}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; scanner.Scan(); n++ {
		line := bytes.TrimSpace(scanner.Bytes())
		if len(line) == 0 {
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(line, &fields); err != nil {
			t.Fatalf("%s:%d: %v", file, n, err)
		}
		_, hasOp := fields["op"]
		rawText, hasRaw := fields["raw"]
		if !hasOp && !hasRaw {
			continue // {"scenario": ..., "about": ...}
		}
		step := scenarioStep{}
		if e, ok := fields["expect"]; ok {
			step.expect = decodeNumbers(t, e)
		}
		if hasRaw && !hasOp {
			var text string
			if err := json.Unmarshal(rawText, &text); err != nil {
				t.Fatalf("%s:%d: raw: %v", file, n, err)
			}
			step.feed, step.raw, step.shown = []byte(text), true, text
		} else {
			delete(fields, "expect")
			feed, err := json.Marshal(fields)
			if err != nil {
				t.Fatal(err)
			}
			step.feed, step.shown = feed, string(feed)
		}
		sc.steps = append(sc.steps, step)
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	return sc
}

func decodeNumbers(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return v
}

// matchJSON returns "" when got matches expect (run-scenarios' matches()),
// else the first difference. Values are as decoded with UseNumber.
func matchJSON(expect, got any, path string) string {
	show := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	switch e := expect.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: expected an object, got %s", path, show(got))
		}
		keys := make([]string, 0, len(e))
		for k := range e {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s: missing key %q", path, k)
			}
			if why := matchJSON(e[k], gv, path+"."+k); why != "" {
				return why
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: expected a list, got %s", path, show(got))
		}
		if len(e) != len(g) {
			return fmt.Sprintf("%s: expected %d items, got %d: %s", path, len(e), len(g), show(got))
		}
		used := make([]bool, len(g))
		for _, item := range e {
			hit := -1
			for j := range g {
				if !used[j] && matchJSON(item, g[j], path) == "" {
					hit = j
					break
				}
			}
			if hit < 0 {
				return fmt.Sprintf("%s: no item matches %s in %s", path, show(item), show(got))
			}
			used[hit] = true
		}
		return ""
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return fmt.Sprintf("%s: expected %s, got %s", path, e, show(got))
		}
		er, ok1 := new(big.Rat).SetString(string(e))
		gr, ok2 := new(big.Rat).SetString(string(g))
		if !ok1 || !ok2 || er.Cmp(gr) != 0 {
			return fmt.Sprintf("%s: expected %s, got %s", path, e, g)
		}
		return ""
	default: // string, bool, nil
		if expect != got {
			return fmt.Sprintf("%s: expected %s, got %s", path, show(expect), show(got))
		}
		return ""
	}
}

// runScenario runs sc on a fresh store, each line through apply (which
// returns the result line), and reports every mismatch.
func runScenario(t *testing.T, sc scenario, apply func(s *Store, step scenarioStep) []byte) {
	s := openTestStore(t, Options{})
	for i, step := range sc.steps {
		result := apply(s, step)
		got := decodeNumbers(t, result)
		if step.expect == nil {
			continue
		}
		shown := step.shown
		if len(shown) > 300 {
			shown = shown[:300] + "..."
		}
		if why := matchJSON(step.expect, got, "$"); why != "" {
			t.Errorf("op %d %s\n      %s\n      result: %s", i+1, shown, why, result)
		}
	}
}

// TestScenariosApplyJSON runs every scenario through Store.ApplyJSON.
func TestScenariosApplyJSON(t *testing.T) {
	scenarios := loadScenarios(t)
	passed := 0
	for _, sc := range scenarios {
		sc := sc
		if t.Run(sc.name, func(t *testing.T) {
			runScenario(t, sc, func(s *Store, step scenarioStep) []byte {
				out, err := s.ApplyJSON(step.feed, time.Now())
				if err != nil {
					t.Fatalf("ApplyJSON(%s): %v", step.shown, err)
				}
				return []byte(out)
			})
		}) {
			passed++
		}
	}
	t.Logf("ApplyJSON: %d of %d scenarios passed", passed, len(scenarios))
}

// TestScenariosTypedAPI runs every scenario through the typed API. Raw
// lines (malformed input) go through the same Go decoder, which rejects
// them as the C++ decoder does: they never reach the store, as in
// `refstore apply`.
func TestScenariosTypedAPI(t *testing.T) {
	scenarios := loadScenarios(t)
	passed, typed, rejected := 0, 0, 0
	for _, sc := range scenarios {
		sc := sc
		if t.Run(sc.name, func(t *testing.T) {
			runScenario(t, sc, func(s *Store, step scenarioStep) []byte {
				result, reachedStore := applyTyped(s, step.feed, time.Now())
				if reachedStore {
					typed++
				} else {
					rejected++
				}
				out, err := json.Marshal(result)
				if err != nil {
					t.Fatal(err)
				}
				return out
			})
		}) {
			passed++
		}
	}
	t.Logf("typed API: %d of %d scenarios passed (%d lines called the typed API, %d were rejected by the Go decoder)",
		passed, len(scenarios), typed, rejected)
}

// TestFilterKeyWithoutValues: docker's {"dangling": []} is "invalid filter
// 'dangling'", for prune and images (a NULL value through c.h).
func TestFilterKeyWithoutValues(t *testing.T) {
	s := openTestStore(t, Options{})
	_, err := s.ListImages(Context{}, ListOptions{Filters: map[string][]string{"dangling": {}}})
	if !errors.Is(err, ErrInvalidArgument) || err.Error() != "invalid filter 'dangling'" {
		t.Errorf("images: %v", err)
	}
	_, err = s.Prune(Context{}, PruneOptions{All: true, Filters: map[string][]string{"dangling": {}}})
	if !errors.Is(err, ErrInvalidArgument) || err.Error() != "invalid filter 'dangling'" {
		t.Errorf("prune: %v", err)
	}
}

// ---- The typed way: an operation line decoded in Go -----------------------

type jsonObject = map[string]any

func okResult() jsonObject { return jsonObject{"ok": true} }

// errorResult is ErrorResult of oplog_json.cc.
func errorResult(err error) jsonObject {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInternal, Message: err.Error()}
	}
	return jsonObject{"ok": false, "error": jsonObject{"code": e.Code.OplogName(), "message": e.Message}}
}

func invalid(format string, args ...any) error {
	return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// applyTyped decodes one line as oplog_json.cc's DecodeOperation does,
// runs it through the typed API as apply_line.cc's Executor does, and
// returns the result object; reachedStore is false when the line was
// rejected by the decoder.
func applyTyped(s *Store, line []byte, now time.Time) (result jsonObject, reachedStore bool) {
	parsed, err := parseStrictJSON(line)
	if err != nil {
		return errorResult(err), false
	}
	object, ok := parsed.(jsonObject)
	if !ok {
		return errorResult(invalid("an operation must be a JSON object")), false
	}
	r := &fieldReader{object: object, known: map[string]bool{}}
	op := r.requiredString("op")
	if r.err != nil {
		return errorResult(r.err), false
	}
	ctx := Context{Namespace: "default", Now: now}
	decode, ok := opDecoders[op]
	if !ok {
		return errorResult(invalid("unknown op '%s'", op)), false
	}
	if ns, ok := r.optionalString("ns"); ok {
		ctx.Namespace = ns
	}
	r.require(r.err != nil || isValidNamespace(ctx.Namespace), "invalid namespace '%s'", ctx.Namespace)
	if at, ok := r.optionalTime("at"); ok {
		ctx.Now = at
	}
	run := decode(r)
	if err := r.finish(); err != nil {
		return errorResult(err), false
	}
	return run(s, ctx), true
}

// An opDecoder reads an operation's own fields and returns the call.
type opDecoder func(r *fieldReader) func(s *Store, ctx Context) jsonObject

var opDecoders = map[string]opDecoder{
	"create_image": func(r *fieldReader) func(*Store, Context) jsonObject {
		var req CreateImageRequest
		req.Name, _ = r.optionalString("name")
		req.Target = r.requiredDescriptor("target")
		req.Content = r.requiredDescriptors("content", true)
		req.Labels = r.optionalLabels("labels")
		req.Lease, _ = r.optionalString("lease")
		return func(s *Store, ctx Context) jsonObject {
			id, err := s.CreateImage(ctx, req)
			if err != nil {
				return errorResult(err)
			}
			return jsonObject{"ok": true, "id": id}
		}
	},
	"tag": func(r *fieldReader) func(*Store, Context) jsonObject {
		source, target := r.requiredString("source"), r.requiredString("target")
		return func(s *Store, ctx Context) jsonObject { return statusResult(s.Tag(ctx, source, target)) }
	},
	"rmi": func(r *fieldReader) func(*Store, Context) jsonObject {
		ref, force := r.requiredString("ref"), r.optionalBool("force", false)
		return func(s *Store, ctx Context) jsonObject {
			removed, err := s.RemoveImage(ctx, ref, force)
			if err != nil {
				return errorResult(err)
			}
			result := jsonObject{"ok": true, "deleted": encodeEntries(removed.Deleted),
				"space_reclaimed": removed.SpaceReclaimed}
			if removed.Collected.Error != "" {
				result["collect_error"] = removed.Collected.Error
			}
			return result
		}
	},
	"container_create": func(r *fieldReader) func(*Store, Context) jsonObject {
		id, image := r.requiredString("id"), r.requiredString("image")
		running := r.optionalBool("running", false)
		return func(s *Store, ctx Context) jsonObject {
			imageID, err := s.CreateContainer(ctx, id, image, running, "")
			if err != nil {
				return errorResult(err)
			}
			return jsonObject{"ok": true, "image_id": imageID}
		}
	},
	"container_start": func(r *fieldReader) func(*Store, Context) jsonObject {
		id := r.requiredString("id")
		return func(s *Store, ctx Context) jsonObject { return statusResult(s.StartContainer(ctx, id)) }
	},
	"container_stop": func(r *fieldReader) func(*Store, Context) jsonObject {
		id := r.requiredString("id")
		return func(s *Store, ctx Context) jsonObject { return statusResult(s.StopContainer(ctx, id)) }
	},
	"container_rm": func(r *fieldReader) func(*Store, Context) jsonObject {
		id := r.requiredString("id")
		return func(s *Store, ctx Context) jsonObject { return statusResult(s.RemoveContainer(ctx, id)) }
	},
	"prune": func(r *fieldReader) func(*Store, Context) jsonObject {
		var opts PruneOptions
		opts.All = r.optionalBool("all", false)
		opts.Filters = r.optionalFilters("filters")
		opts.DryRun = r.optionalBool("dry_run", false)
		return func(s *Store, ctx Context) jsonObject {
			pruned, err := s.Prune(ctx, opts)
			if err != nil {
				return errorResult(err)
			}
			result := jsonObject{"ok": true, "ImagesDeleted": encodeEntries(pruned.Deleted),
				"SpaceReclaimed": pruned.SpaceReclaimed}
			if pruned.Collected.Error != "" {
				result["collect_error"] = pruned.Collected.Error
			}
			if pruned.Error != "" {
				result["stopped_error"] = pruned.Error
			}
			return result
		}
	},
	"lease_create": func(r *fieldReader) func(*Store, Context) jsonObject {
		id := r.requiredString("id")
		expires, _ := r.optionalTime("expires") // zero: none
		return func(s *Store, ctx Context) jsonObject { return statusResult(s.CreateLease(ctx, id, expires)) }
	},
	"lease_add": func(r *fieldReader) func(*Store, Context) jsonObject {
		id := r.requiredString("id")
		// As oplog_json.cc: the library checks the descriptors' values,
		// after it looked the lease up.
		content := r.requiredDescriptors("content", false)
		return func(s *Store, ctx Context) jsonObject { return statusResult(s.AddLeaseContent(ctx, id, content)) }
	},
	"lease_delete": func(r *fieldReader) func(*Store, Context) jsonObject {
		id := r.requiredString("id")
		return func(s *Store, ctx Context) jsonObject {
			deleted, err := s.DeleteLease(ctx, id)
			if err != nil {
				return errorResult(err)
			}
			result := jsonObject{"ok": true, "space_reclaimed": deleted.SpaceReclaimed}
			if deleted.Collected.Error != "" {
				result["collect_error"] = deleted.Collected.Error
			}
			return result
		}
	},
	"images": func(r *fieldReader) func(*Store, Context) jsonObject {
		opts := ListOptions{All: r.optionalBool("all", true), Filters: r.optionalFilters("filters")}
		return func(s *Store, ctx Context) jsonObject {
			images, err := s.ListImages(ctx, opts)
			if err != nil {
				return errorResult(err)
			}
			list := []any{}
			for _, img := range images {
				list = append(list, encodeImage(img))
			}
			return jsonObject{"ok": true, "images": list}
		}
	},
	"inspect": func(r *fieldReader) func(*Store, Context) jsonObject {
		ref := r.requiredString("ref")
		return func(s *Store, ctx Context) jsonObject {
			detail, err := s.Inspect(ctx, ref)
			if err != nil {
				return errorResult(err)
			}
			image := encodeImage(detail.Image)
			image["target"] = encodeDescriptor(detail.Target)
			content := []any{}
			for _, d := range detail.Content {
				content = append(content, encodeDescriptor(d))
			}
			image["content"] = content
			image["container_ids"] = detail.ContainerIDs
			return jsonObject{"ok": true, "image": image}
		}
	},
	"df": func(r *fieldReader) func(*Store, Context) jsonObject {
		return func(s *Store, ctx Context) jsonObject {
			u, err := s.DiskUsage(ctx)
			if err != nil {
				return errorResult(err)
			}
			return jsonObject{"ok": true, "images": jsonObject{
				"total_count": u.TotalCount, "active": u.Active, "size": u.Size,
				"shared_size": u.SharedSize, "unique_size": u.UniqueSize, "reclaimable": u.Reclaimable}}
		}
	},
	"check": func(r *fieldReader) func(*Store, Context) jsonObject {
		return func(s *Store, ctx Context) jsonObject {
			problems, err := s.Check(ctx.Now, true)
			if err != nil {
				return errorResult(err)
			}
			// Information (a container of a force-removed image) is not a
			// finding.
			list := []any{}
			for _, p := range Faults(problems) {
				list = append(list, jsonObject{"category": p.Category, "subject": p.Subject, "detail": p.Detail})
			}
			return jsonObject{"ok": true, "problems": list}
		}
	},
}

func statusResult(err error) jsonObject {
	if err != nil {
		return errorResult(err)
	}
	return okResult()
}

func encodeEntries(entries []DeleteEntry) []any {
	list := []any{}
	for _, e := range entries {
		list = append(list, jsonObject{e.Kind.String(): e.Ref})
	}
	return list
}

func encodeDescriptor(d Descriptor) jsonObject {
	return jsonObject{"mediaType": d.MediaType, "digest": d.Digest, "size": d.Size}
}

// encodeImage is EncodeImageSummary of oplog_json.cc.
func encodeImage(img Image) jsonObject {
	return jsonObject{
		"id": img.ID, "names": img.Names, "size": img.Size, "shared_size": img.SharedSize,
		"unique_size": img.UniqueSize, "containers": img.Containers,
		"created": formatRFC3339(img.Created), "labels": img.Labels,
	}
}

// formatRFC3339 is FormatRfc3339 of filters.h: UTC, "Z", a fraction only
// when non-zero.
func formatRFC3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// parseRFC3339 is ParseRfc3339 of filters.h.
func parseRFC3339(value string) (time.Time, error) {
	twoDigitHour := len(value) > 12 && isDigit(value[11]) && isDigit(value[12])
	t, err := time.Parse(time.RFC3339Nano, value)
	if !twoDigitHour || err != nil {
		return time.Time{}, invalid("invalid time '%s': want RFC 3339, as 2006-01-02T15:04:05Z", value)
	}
	if t.Before(time.Unix(-9223372036, 0)) || t.After(time.Unix(9223372036, 0)) {
		return time.Time{}, invalid("invalid time '%s': outside the times a store keeps "+
			"(1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z)", value)
	}
	return t, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') }

// isValidNamespace is IsValidNamespace of reference.h: 1-76 characters
// matching [A-Za-z0-9]+([._-][A-Za-z0-9]+)*.
func isValidNamespace(ns string) bool {
	if len(ns) == 0 || len(ns) > 76 {
		return false
	}
	afterSeparator := true
	for i := 0; i < len(ns); i++ {
		switch c := ns[i]; {
		case isAlnum(c):
			afterSeparator = false
		case (c == '.' || c == '_' || c == '-') && !afterSeparator:
			afterSeparator = true
		default:
			return false
		}
	}
	return !afterSeparator
}

// validateDigest is ValidateDigest of reference.h.
func validateDigest(digest string) error {
	if !strings.HasPrefix(digest, "sha256:") {
		return invalid("invalid digest '%s'", digest)
	}
	hex := digest[len("sha256:"):]
	if len(hex) != 64 {
		return invalid("invalid checksum digest length")
	}
	for i := 0; i < len(hex); i++ {
		if !isDigit(hex[i]) && !(hex[i] >= 'a' && hex[i] <= 'f') {
			return invalid("invalid checksum digest format")
		}
	}
	return nil
}

// parseStrictJSON is ParseStrictJSON of oplog_json.h: one JSON value (and
// nothing after it), numbers as json.Number, a duplicate key an error.
func parseStrictJSON(text []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("syntax error: unexpected text after the value")
		}
	}
	var dup duplicateKeyError
	if errors.As(err, &dup) {
		return nil, invalid("duplicate key '%s'", string(dup))
	}
	if err != nil {
		return nil, invalid("invalid JSON: %v", err)
	}
	return v, nil
}

type duplicateKeyError string

func (e duplicateKeyError) Error() string { return "duplicate key " + string(e) }

func parseValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("unexpected end of input")
		}
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			object := jsonObject{}
			for dec.More() {
				keyTok, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key := keyTok.(string)
				if _, dup := object[key]; dup {
					return nil, duplicateKeyError(key)
				}
				if object[key], err = parseValue(dec); err != nil {
					return nil, err
				}
			}
			_, err := dec.Token() // '}'
			return object, err
		case '[':
			list := []any{}
			for dec.More() {
				item, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, item)
			}
			_, err := dec.Token() // ']'
			return list, err
		}
		return nil, fmt.Errorf("unexpected %v", v)
	default:
		return v, nil // string, json.Number, bool, nil
	}
}

// fieldReader is FieldReader of oplog_json.cc: it reads an object's fields
// strictly, keeps the first error, and finish reports it, or else the
// first field (in key order) that no getter asked for.
type fieldReader struct {
	object jsonObject
	prefix string
	known  map[string]bool
	err    error
}

func (r *fieldReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *fieldReader) require(cond bool, format string, args ...any) {
	if !cond {
		r.fail(invalid(format, args...))
	}
}

func (r *fieldReader) name(key string) string { return r.prefix + key }

func (r *fieldReader) typeError(key, expected string) {
	r.fail(invalid("field '%s' must be %s", r.name(key), expected))
}

// find marks key as known and returns its value; ok is false when it is
// absent (an error when required), null (always an error), or after an
// error.
func (r *fieldReader) find(key string, required bool) (any, bool) {
	r.known[key] = true
	if r.err != nil {
		return nil, false
	}
	v, present := r.object[key]
	if !present {
		r.require(!required, "missing field '%s'", r.name(key))
		return nil, false
	}
	if v == nil {
		r.fail(invalid("field '%s' must not be null", r.name(key)))
		return nil, false
	}
	return v, true
}

func (r *fieldReader) stringField(key string, required bool) (string, bool) {
	v, ok := r.find(key, required)
	if !ok {
		return "", false
	}
	s, isString := v.(string)
	if !isString {
		r.typeError(key, "a string")
		return "", false
	}
	return s, true
}

func (r *fieldReader) requiredString(key string) string {
	s, _ := r.stringField(key, true)
	return s
}

func (r *fieldReader) optionalString(key string) (string, bool) { return r.stringField(key, false) }

func (r *fieldReader) optionalBool(key string, def bool) bool {
	v, ok := r.find(key, false)
	if !ok {
		return def
	}
	b, isBool := v.(bool)
	if !isBool {
		r.typeError(key, "a boolean")
		return false
	}
	return b
}

// requiredSize reads an integer from 0 to 2^63-1 (not a float: "100.0" and
// "1e2" are not sizes, as nlohmann::json parses them as floats).
func (r *fieldReader) requiredSize(key string) int64 {
	v, ok := r.find(key, true)
	if !ok {
		return 0
	}
	if n, isNumber := v.(json.Number); isNumber && !strings.ContainsAny(string(n), ".eE") {
		if size, err := strconv.ParseInt(string(n), 10, 64); err == nil && size >= 0 {
			return size
		}
	}
	r.typeError(key, "an integer from 0 to 9223372036854775807")
	return 0
}

func (r *fieldReader) optionalTime(key string) (time.Time, bool) {
	text, ok := r.optionalString(key)
	if !ok {
		return time.Time{}, false
	}
	t, err := parseRFC3339(text)
	if err != nil {
		r.fail(err)
		return time.Time{}, false
	}
	return t, true
}

func (r *fieldReader) requiredDescriptor(key string) Descriptor {
	v, ok := r.find(key, true)
	if !ok {
		return Descriptor{}
	}
	return r.descriptorAt(v, r.name(key), true)
}

func (r *fieldReader) requiredDescriptors(key string, checkValues bool) []Descriptor {
	v, ok := r.find(key, true)
	if !ok {
		return nil
	}
	list, isList := v.([]any)
	if !isList {
		r.typeError(key, "an array")
		return nil
	}
	out := []Descriptor{}
	for i := 0; i < len(list) && r.err == nil; i++ {
		out = append(out, r.descriptorAt(list[i], fmt.Sprintf("%s[%d]", r.name(key), i), checkValues))
	}
	return out
}

// descriptorAt reads a descriptor: exactly mediaType (non-empty), digest
// (valid) and size.
func (r *fieldReader) descriptorAt(v any, name string, checkValues bool) Descriptor {
	object, ok := v.(jsonObject)
	if !ok {
		r.fail(invalid("field '%s' must be a descriptor object", name))
		return Descriptor{}
	}
	sub := &fieldReader{object: object, prefix: name + ".", known: map[string]bool{}}
	var d Descriptor
	d.MediaType = sub.requiredString("mediaType")
	sub.require(!checkValues || sub.err != nil || d.MediaType != "",
		"field '%s' must not be empty", name+".mediaType")
	d.Digest = sub.requiredString("digest")
	if checkValues && sub.err == nil {
		if err := validateDigest(d.Digest); err != nil {
			sub.fail(err)
		}
	}
	d.Size = sub.requiredSize("size")
	if err := sub.finish(); err != nil {
		r.fail(err)
	}
	return d
}

func (r *fieldReader) optionalLabels(key string) map[string]string {
	labels := map[string]string{}
	v, ok := r.find(key, false)
	if !ok {
		return labels
	}
	object, isObject := v.(jsonObject)
	if !isObject {
		r.typeError(key, "an object of strings")
		return labels
	}
	for name, value := range object {
		text, isString := value.(string)
		if !isString {
			r.typeError(key, "an object of strings")
			return labels
		}
		labels[name] = text
	}
	return labels
}

func (r *fieldReader) optionalFilters(key string) map[string][]string {
	filters := map[string][]string{}
	v, ok := r.find(key, false)
	if !ok {
		return filters
	}
	const expected = "an object of arrays of strings"
	object, isObject := v.(jsonObject)
	if !isObject {
		r.typeError(key, expected)
		return filters
	}
	for name, values := range object {
		list, isList := values.([]any)
		if !isList {
			r.typeError(key, expected)
			return filters
		}
		out := []string{}
		for _, item := range list {
			text, isString := item.(string)
			if !isString {
				r.typeError(key, expected)
				return filters
			}
			out = append(out, text)
		}
		filters[name] = out
	}
	return filters
}

func (r *fieldReader) finish() error {
	if r.err != nil {
		return r.err
	}
	keys := make([]string, 0, len(r.object))
	for k := range r.object {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !r.known[k] {
			return invalid("unknown field '%s'", r.prefix+k)
		}
	}
	return nil
}
