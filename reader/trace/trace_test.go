package trace

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sharedTraces returns the paths of the recorded sessions in testdata.
func sharedTraces(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("../../testdata/traces/*.trace")
	if err != nil || len(files) == 0 {
		t.Fatalf("no traces in ../../testdata/traces: %v", err)
	}
	return files
}

func mustParseFile(t testing.TB, path string) (*Trace, []byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tr, raw
}

// withoutLines clears Exchange.Line, the one field a rewrite changes.
func withoutLines(t *Trace) *Trace {
	c := t.clone()
	for i := range c.Exchanges {
		c.Exchanges[i].Line = 0
	}
	return c
}

func TestRoundTripSharedTraces(t *testing.T) {
	for _, path := range sharedTraces(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			tr, raw := mustParseFile(t, path)
			if len(tr.Exchanges) == 0 || tr.Get("scheme") == "" || tr.Get("source") == "" {
				t.Fatalf("parsed %d exchanges, scheme %q, source %q", len(tr.Exchanges), tr.Get("scheme"), tr.Get("source"))
			}
			var out bytes.Buffer
			n, err := tr.WriteTo(&out)
			if err != nil || n != int64(out.Len()) {
				t.Fatalf("WriteTo: n=%d len=%d err=%v", n, out.Len(), err)
			}
			// The shared files are in canonical form: byte for byte.
			if !bytes.Equal(out.Bytes(), raw) {
				t.Errorf("WriteTo output differs from the file (first difference at byte %d)", firstDiff(out.Bytes(), raw))
			}
			back, err := Parse(bytes.NewReader(out.Bytes()))
			if err != nil {
				t.Fatalf("re-parse: %v", err)
			}
			if !reflect.DeepEqual(withoutLines(back), withoutLines(tr)) {
				t.Fatal("Parse(WriteTo(t)) != t")
			}
			for i, ex := range tr.Exchanges {
				if ex.Line == 0 || ex.Line != back.Exchanges[i].Line {
					t.Fatalf("exchange %d: line %d, after rewrite %d", i, ex.Line, back.Exchanges[i].Line)
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestParseAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want *Trace
	}{
		{"empty file", "", &Trace{}},
		{"comments and blank lines only", "# a\n\n#\n", &Trace{Comments: []string{"a", ""}}},
		{"unspaced lowercase hex, CRLF, BOM", "\uFEFF@ scheme: visa\r\n>00a4040000\r\n< 9000\r\n",
			&Trace{Meta: []Meta{{"scheme", "visa"}}, Exchanges: []Exchange{{Command: []byte{0, 0xA4, 4, 0, 0}, Response: []byte{0x90, 0}, Line: 2}}}},
		{"wildcard and comments", "@ k: a: b\n# head\n# on cmd\n>   *  \n< 6A 82\n# tail\n",
			&Trace{Meta: []Meta{{"k", "a: b"}}, Comments: []string{"tail"},
				Exchanges: []Exchange{{Comments: []string{"head", "on cmd"}, Response: []byte{0x6A, 0x82}, Line: 4}}}},
		{"blank line ends header comments", "# head\n\n# on cmd\n> *\n< 90 00\n\n# tail\n",
			&Trace{Comments: []string{"head", "tail"},
				Exchanges: []Exchange{{Comments: []string{"on cmd"}, Response: []byte{0x90, 0x00}, Line: 4}}}},
		{"comment keeps inner spacing", "#   indented  \n", &Trace{Comments: []string{"  indented"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := "> 00 A4 04 00" + strings.Repeat(" 00", MaxAPDU) + "\n< 90 00\n"
	for _, tc := range []struct {
		name string
		in   string
		line int
		err  error
	}{
		{"response first", "< 90 00\n", 1, ErrOrder},
		{"two commands", "> 00 A4 04 00\n\n> 00 B2 01 0C\n< 90 00\n", 3, ErrOrder},
		{"missing response at EOF", "# x\n> 00 A4 04 00\n", 2, ErrIncomplete},
		{"comment inside exchange", "> 00 A4 04 00\n# no\n< 90 00\n", 2, ErrOrder},
		{"odd hex digit", "> 00 A4 04 0\n< 90 00\n", 1, ErrBadHex},
		{"split pair", "> 00 A 4 04 00\n< 90 00\n", 1, ErrBadHex},
		{"non hex", "> 00 A4 04 00\n< 9G 00\n", 2, ErrBadHex},
		{"empty command", ">\n< 90 00\n", 1, ErrBadHex},
		{"short command", "> 00 A4 04\n< 90 00\n", 1, ErrShortAPDU},
		{"short response", "> 00 A4 04 00\n< 90\n", 2, ErrShortAPDU},
		{"wildcard plus bytes", "> * 00\n< 90 00\n", 1, ErrBadHex},
		{"metadata after exchange", "> 00 A4 04 00\n< 90 00\n@ late: yes\n", 3, ErrBadMeta},
		{"metadata between command and response", "> 00 A4 04 00\n@ a: b\n< 90 00\n", 2, ErrBadMeta},
		{"metadata without colon", "@ scheme visa\n", 1, ErrBadMeta},
		{"metadata empty key", "@ : visa\n", 1, ErrBadMeta},
		{"metadata key with space", "@ my key: visa\n", 1, ErrBadMeta},
		{"unknown line", "@ a: b\nSEND 00 A4\n", 2, ErrBadLine},
		{"lone CR inside a line", "# a\n# b\rc\n", 2, ErrBadLine},
		{"APDU too long", long, 1, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Parse(strings.NewReader(tc.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, %v; want *SyntaxError", tr, err)
			}
			if se.Line != tc.line || !errors.Is(err, tc.err) {
				t.Fatalf("error %q (line %d); want line %d, %v", err, se.Line, tc.line, tc.err)
			}
			if !strings.Contains(err.Error(), "line ") || se.Reason == "" {
				t.Fatalf("error %q does not name the line and reason", err)
			}
		})
	}
}

func TestParseFileTooLarge(t *testing.T) {
	// One comment line larger than the file limit: refused without the
	// whole stream being read into one line.
	r := &repeatReader{b: []byte("# aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"), n: MaxFile + 100}
	_, err := Parse(r)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if r.read > MaxFile+1 {
		t.Fatalf("read %d bytes, more than the limit", r.read)
	}
	// Exactly at the limit is fine: one long comment line.
	big := bytes.Repeat([]byte{'a'}, MaxFile)
	big[0], big[len(big)-1] = '#', '\n'
	tr, err := Parse(bytes.NewReader(big))
	if err != nil || len(tr.Comments) != 1 || len(tr.Comments[0]) != MaxFile-2 {
		t.Fatalf("file of MaxFile bytes: %v", err)
	}
}

// repeatReader yields n bytes of b repeated.
type repeatReader struct {
	b       []byte
	n, read int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.read >= r.n {
		return 0, errEOF
	}
	k := 0
	for k < len(p) && r.read < r.n {
		c := copy(p[k:min(len(p), k+r.n-r.read)], r.b[r.read%len(r.b):])
		k += c
		r.read += c
	}
	return k, nil
}

var errEOF = func() error { _, err := strings.NewReader("").Read(nil); return err }()

func TestParseReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := Parse(&failReader{err: boom})
	var se *SyntaxError
	if !errors.Is(err, boom) || errors.As(err, &se) {
		t.Fatalf("err = %v; want the reader's error, not a SyntaxError", err)
	}
}

type failReader struct{ err error }

func (f *failReader) Read([]byte) (int, error) { return 0, f.err }

func TestWriteToRejects(t *testing.T) {
	ok := Exchange{Command: []byte{0, 0xA4, 4, 0}, Response: []byte{0x90, 0}}
	for _, tc := range []struct {
		name string
		t    Trace
	}{
		{"newline in comment", Trace{Comments: []string{"a\nb"}}},
		{"newline in exchange comment", Trace{Exchanges: []Exchange{{Command: ok.Command, Response: ok.Response, Comments: []string{"x\r"}}}}},
		{"colon in key", Trace{Meta: []Meta{{"a:b", "c"}}}},
		{"empty key", Trace{Meta: []Meta{{"", "c"}}}},
		{"untrimmed value", Trace{Meta: []Meta{{"a", " c"}}}},
		{"no response", Trace{Exchanges: []Exchange{{Command: ok.Command}}}},
		{"short command", Trace{Exchanges: []Exchange{{Command: []byte{0}, Response: ok.Response}}}},
		{"trailing space in comment", Trace{Comments: []string{"x "}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if _, err := tc.t.WriteTo(&b); !errors.Is(err, ErrUnwritable) || b.Len() != 0 {
				t.Fatalf("err = %v, wrote %d bytes; want ErrUnwritable and nothing written", err, b.Len())
			}
		})
	}
}

func TestGet(t *testing.T) {
	tr := &Trace{Meta: []Meta{{"scheme", "visa"}, {"scheme", "other"}, {"date", "2026-11-25"}}}
	for key, want := range map[string]string{"scheme": "visa", "date": "2026-11-25", "missing": ""} {
		if got := tr.Get(key); got != want {
			t.Errorf("Get(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		want string
	}{
		{"00A404000E325041592E5359532E444446303100", `SELECT 325041592E5359532E4444463031 "2PAY.SYS.DDF01"`},
		{"00A4040207A000000003101000", "SELECT A0000000031010 (next)"},
		{"00B2015C00", "READ RECORD SFI 11 record 1"},
		{"80CA9F3600", "GET DATA 9F36 (Application Transaction Counter (ATC))"},
		{"80A8000002830000", "GET PROCESSING OPTIONS"},
		{"80AE90001D0000", "GENERATE AC ARQC with CDA"},
		{"80AE40000100", "GENERATE AC TC"},
		{"000C000033", "GET RESPONSE (INS 0C)"},
		{"00C0000033", "GET RESPONSE"},
		{"0088000004AABBCCDD00", "INTERNAL AUTHENTICATE"},
		{"8012345600", "command 80 12 34 56"},
		{"00A4", "malformed command of 2 bytes"},
	} {
		if got := Describe(mustHex(t, tc.cmd)); got != tc.want {
			t.Errorf("Describe(%s) = %q, want %q", tc.cmd, got, tc.want)
		}
	}
	if got := Describe(nil); !strings.Contains(got, "any command") {
		t.Errorf("Describe(nil) = %q", got)
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := parseHex(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return b
}
