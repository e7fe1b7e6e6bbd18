package nexo

// Adyen's official Node.js library (@adyen/api-library, its
// TerminalLocalAPIUnencrypted and TerminalLocalAPI classes) drives a real
// posagent nexo daemon: a child process (this test binary, re-executed)
// serving TLS on <127.x.y.z>:8443 (the library always appends :8443/nexo/)
// with a certificate from the acquirer simulator's test CA, named as the
// library requires (<POIID>.test.terminal.adyen.com).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"posagent/uplink/acqsim"
)

const (
	adyenPOIID      = "posagent-T1"
	adyenPassphrase = "correct horse battery staple"
	adyenKeyID      = "posagent"
	adyenKeyVersion = 1
)

// Amounts (major units, EUR) the daemon's simulated reader and the
// acquirer simulator give a meaning to (see daemon_engine_test.go).
const (
	amtApprove = "25.00"
	amtDecline = "51.00" // the issuer answers 51
	amtWait    = "99.00" // no card is presented: the payment waits
	amtSlow    = "77.00" // the acquirer answers after 3 s
)

var clientDir = filepath.Join("testdata", "adyen-client")

// requireNode skips (outside CI) or fails (CI=true) when node or the
// installed library is missing.
func requireNode(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(clientDir, "node_modules", "@adyen", "api-library", "package.json"))
	}
	if err != nil {
		msg := "needs node and the Adyen library (scripts/deps.sh runs npm ci in agent/nexo/testdata/adyen-client): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// daemon is a posagent nexo daemon in a child process.
type daemon struct {
	t       *testing.T
	dir     string
	host    string // 127.x.y.z; the daemon listens on host:8443
	acqAddr string
	cmd     *exec.Cmd
	lib     *lib
}

// testbed starts the acquirer simulator, makes the terminal certificate and
// picks the address; start() runs the daemon.
func testbed(t *testing.T) *daemon {
	t.Helper()
	d := &daemon{t: t, dir: t.TempDir()}
	tlsDir := filepath.Join(d.dir, "tls")
	if err := acqsim.InitCerts(tlsDir); err != nil {
		t.Fatal(err)
	}
	cn, err := CertName(adyenPOIID)
	if err != nil {
		t.Fatal(err)
	}
	// A free 127.x.y.z:8443 (the whole of 127/8 is loopback on Linux).
	for i := 0; ; i++ {
		host := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(250), rand.IntN(250), 1+rand.IntN(250))
		ln, err := net.Listen("tcp", host+":8443")
		if err == nil {
			ln.Close()
			d.host = host
			break
		}
		if i > 20 {
			t.Fatalf("no free loopback address for :8443: %v", err)
		}
	}
	if err := acqsim.IssueServerCert(tlsDir, cn, []net.IP{net.ParseIP(d.host)},
		filepath.Join(d.dir, CertFileName), filepath.Join(d.dir, KeyFileName)); err != nil {
		t.Fatal(err)
	}
	d.acqAddr = startAcquirer(t, tlsDir)
	t.Cleanup(d.kill)
	d.lib = startLib(t)
	return d
}

// start runs the daemon and waits until it listens.
func (d *daemon) start() {
	d.t.Helper()
	cfg, _ := json.Marshal(daemonArgs{Dir: d.dir, Listen: d.host + ":8443", Acquirer: d.acqAddr})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NEXO_TEST_DAEMON="+string(cfg))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		d.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.cmd = cmd
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if strings.TrimSpace(line) != "ready" {
			d.t.Fatalf("daemon did not start: %q", line)
		}
	case <-time.After(30 * time.Second):
		d.t.Fatal("daemon did not start in 30 s")
	}
}

// kill ends the daemon with SIGKILL (no chance to clean up).
func (d *daemon) kill() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	d.cmd.Wait()
	d.cmd = nil
}

// daemonArgs is what the parent tells the child daemon.
type daemonArgs struct {
	Dir      string
	Listen   string
	Acquirer string
}

func TestMain(m *testing.M) {
	if a := os.Getenv("NEXO_TEST_DAEMON"); a != "" {
		os.Exit(runTestDaemon(a))
	}
	os.Exit(m.Run())
}

// runTestDaemon is the child: the engine on its data file, the nexo
// handler with the shared key (and plain messages allowed), the TLS
// listener. It prints "ready" and serves until killed.
func runTestDaemon(arg string) int {
	var a daemonArgs
	if err := json.Unmarshal([]byte(arg), &a); err != nil {
		fmt.Fprintln(os.Stderr, "daemon:", err)
		return 2
	}
	eng, err := daemonEngine(a)
	if err != nil {
		fmt.Fprintln(os.Stderr, "daemon: engine:", err)
		return 2
	}
	cfg := Config{Listen: a.Listen, POIID: adyenPOIID, AllowPlain: true,
		Keys: []KeyConfig{{Identifier: adyenKeyID, Version: adyenKeyVersion, Passphrase: adyenPassphrase}}}
	srv, err := Open(cfg, a.Dir, eng, nil, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "daemon:", err)
		return 2
	}
	fmt.Println("ready")
	if err := srv.Serve(); err != nil {
		fmt.Fprintln(os.Stderr, "daemon:", err)
		return 1
	}
	return 0
}

// client is one POS using the library in one mode.
type client struct {
	d         *daemon
	encrypted bool
	saleID    string
	n         int
}

// clientOut is what client.js prints.
type clientOut struct {
	OK       bool            `json:"ok"`
	Error    string          `json:"error"`
	Ms       float64         `json:"ms"`
	Response json.RawMessage `json:"response"`
}

func (c *client) args(category, serviceID string, body any) []byte {
	a := map[string]any{
		"endpoint": "https://" + c.d.host, "encrypted": c.encrypted, "ca": filepath.Join(c.d.dir, "tls", acqsim.CAFile),
		"key":   map[string]any{"id": adyenKeyID, "version": adyenKeyVersion, "passphrase": adyenPassphrase},
		"poiid": adyenPOIID, "saleId": c.saleID, "serviceId": serviceID, "category": category, "body": body,
	}
	b, _ := json.Marshal(a)
	return b
}

// send runs one request through the library and returns the decoded
// TerminalApiResponse (as a generic document).
func (c *client) send(ctx context.Context, category, serviceID string, body any) (map[string]any, clientOut) {
	c.d.t.Helper()
	var a map[string]any
	json.Unmarshal(c.args(category, serviceID, body), &a)
	out := c.d.lib.do(c.d.t, a)
	var doc map[string]any
	if out.OK && len(out.Response) > 0 {
		if err := json.Unmarshal(out.Response, &doc); err != nil {
			c.d.t.Errorf("response %s: %v", out.Response, err) // Errorf: send also runs in goroutines
		}
	}
	return doc, out
}

// lib is one node process running client.js: requests are lines on its
// stdin, answered (concurrently) by lines on its stdout.
type lib struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	seq   int
	wait  map[int]chan clientOut
}

func startLib(t *testing.T) *lib {
	t.Helper()
	l := &lib{wait: map[int]chan clientOut{}}
	l.cmd = exec.Command("node", "client.js")
	l.cmd.Dir = clientDir
	l.cmd.Stderr = os.Stderr
	var err error
	if l.stdin, err = l.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := l.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var out struct {
				Seq int `json:"seq"`
				clientOut
			}
			if json.Unmarshal(sc.Bytes(), &out) != nil {
				continue
			}
			l.mu.Lock()
			ch := l.wait[out.Seq]
			delete(l.wait, out.Seq)
			l.mu.Unlock()
			if ch != nil {
				ch <- out.clientOut
			}
		}
	}()
	t.Cleanup(func() { l.stdin.Close(); l.cmd.Wait() })
	return l
}

// do sends one request and waits for its answer.
func (l *lib) do(t *testing.T, a map[string]any) clientOut {
	l.mu.Lock()
	l.seq++
	seq := l.seq
	ch := make(chan clientOut, 1)
	l.wait[seq] = ch
	a["seq"] = seq
	b, _ := json.Marshal(a)
	_, err := l.stdin.Write(append(b, '\n'))
	l.mu.Unlock()
	if err != nil {
		t.Errorf("writing to node: %v", err)
		return clientOut{Error: err.Error()}
	}
	select {
	case out := <-ch:
		return out
	case <-time.After(90 * time.Second):
		t.Errorf("no answer from the library in 90 s")
		return clientOut{Error: "timeout"}
	}
}

func (c *client) serviceID() string {
	c.n++
	m := "p"
	if c.encrypted {
		m = "e"
	}
	return fmt.Sprintf("%s%d%04d", m, time.Now().Unix()%100000, c.n)[:10]
}

func paymentBody(tx, amount string) map[string]any {
	return map[string]any{
		"SaleData":           map[string]any{"SaleTransactionID": map[string]any{"TransactionID": tx, "TimeStamp": time.Now().UTC().Format(time.RFC3339)}},
		"PaymentTransaction": map[string]any{"AmountsReq": map[string]any{"Currency": "EUR", "RequestedAmount": json.Number(amount)}},
	}
}

func TestAdyenLibrary(t *testing.T) {
	requireNode(t)
	d := testbed(t)
	d.start()
	for _, encrypted := range []bool{false, true} {
		name := "unencrypted"
		if encrypted {
			name = "encrypted"
		}
		t.Run(name, func(t *testing.T) {
			c := &client{d: d, encrypted: encrypted, saleID: "POS-" + name}
			d.t = t
			ctx := context.Background()
			bodies := map[string]map[string]any{}
			pay := func(amount string) (string, map[string]any) {
				sid := c.serviceID()
				bodies[sid] = paymentBody("TX-"+sid, amount)
				doc, out := c.send(ctx, CategoryPayment, sid, bodies[sid])
				if !out.OK {
					t.Fatalf("payment %s: library error %s", amount, out.Error)
				}
				return sid, doc
			}

			// Approved.
			sid, doc := pay(amtApprove)
			if res, cond := result(doc, "PaymentResponse"); res != "Success" {
				t.Fatalf("approved: %s %s: %v", res, cond, doc)
			}
			pr := at(doc, "SaleToPOIResponse", "PaymentResponse")
			if b, err := json.Marshal(pr); err == nil {
				t.Logf("approved PaymentResponse as the library decoded it: %s", b)
			}
			poiTx, _ := at(pr, "POIData", "POITransactionID", "TransactionID").(string)
			if poiTx == "" || at(pr, "SaleData", "SaleTransactionID", "TransactionID") != "TX-"+sid ||
				at(pr, "PaymentResult", "AmountsResp", "AuthorizedAmount") != 25.0 ||
				at(pr, "PaymentResult", "OnlineFlag") != true {
				t.Fatalf("approved response: %v", pr)
			}
			if pan, _ := at(pr, "PaymentResult", "PaymentInstrumentData", "CardData", "MaskedPan").(string); !maskedPAN(pan) {
				t.Errorf("MaskedPan %q", pan)
			}
			if code, _ := at(pr, "PaymentResult", "PaymentAcquirerData", "ApprovalCode").(string); code == "" {
				t.Errorf("no ApprovalCode: %v", pr)
			}
			if rc, _ := at(pr, "PaymentReceipt").([]any); len(rc) != 2 {
				t.Errorf("receipts: %v", at(pr, "PaymentReceipt"))
			}

			// The same ServiceID and body again (a POS retrying after a
			// timeout): the stored answer, no second authorisation.
			doc, _ = c.send(ctx, CategoryPayment, sid, bodies[sid])
			if res, _ := result(doc, "PaymentResponse"); res != "Success" ||
				at(doc, "SaleToPOIResponse", "PaymentResponse", "POIData", "POITransactionID", "TransactionID") != poiTx {
				t.Fatalf("repeat: %v", doc)
			}
			// The same ServiceID with another body: refused.
			doc, _ = c.send(ctx, CategoryPayment, sid, paymentBody("TX-"+sid, "26.00"))
			if res, cond := result(doc, "PaymentResponse"); res != "Failure" || cond != "MessageFormat" {
				t.Fatalf("reused ServiceID: %s %s", res, cond)
			}
			d.waitJournal(t, "authorisation of "+poiTx, func(r acqsim.Record) bool { return r.TransactionID == poiTx && r.Kind == "financial" })
			if n := d.journalCount(func(r acqsim.Record) bool { return r.TransactionID == poiTx && r.Kind == "financial" }); n != 1 {
				t.Fatalf("%d authorisations for one ServiceID", n)
			}

			// Issuer decline.
			_, doc = pay(amtDecline)
			if res, cond := result(doc, "PaymentResponse"); res != "Failure" || cond != "Refusal" {
				t.Fatalf("decline: %s %s: %v", res, cond, doc)
			}

			// Referenced refund of 5.00 of the approved payment.
			rsid := c.serviceID()
			body := paymentBody("TX-"+rsid, "5.00")
			body["PaymentData"] = map[string]any{"PaymentType": "Refund"}
			body["PaymentTransaction"].(map[string]any)["OriginalPOITransaction"] = map[string]any{
				"POITransactionID": map[string]any{"TransactionID": poiTx, "TimeStamp": time.Now().UTC().Format(time.RFC3339)}}
			doc, out := c.send(ctx, CategoryPayment, rsid, body)
			if res, cond := result(doc, "PaymentResponse"); !out.OK || res != "Success" {
				t.Fatalf("refund: %s %s %s: %v", res, cond, out.Error, doc)
			}

			// Reversal (MerchantCancel) of a second approved payment.
			_, doc = pay(amtApprove)
			second, _ := at(doc, "SaleToPOIResponse", "PaymentResponse", "POIData", "POITransactionID", "TransactionID").(string)
			doc, out = c.send(ctx, CategoryReversal, c.serviceID(), map[string]any{
				"OriginalPOITransaction": map[string]any{"POITransactionID": map[string]any{"TransactionID": second, "TimeStamp": time.Now().UTC().Format(time.RFC3339)}},
				"ReversalReason":         "MerchantCancel",
			})
			if res, cond := result(doc, "ReversalResponse"); !out.OK || res != "Success" {
				t.Fatalf("reversal: %s %s %s: %v", res, cond, out.Error, doc)
			}
			// The acquirer saw the refund and the reversal.
			d.waitJournal(t, "refund of "+poiTx, func(r acqsim.Record) bool {
				return r.Kind == "refund" && r.Amount == 500 && r.ResponseCode == "00" && r.TransactionID == PaymentID(c.saleID, rsid)
			})
			d.waitJournal(t, "reversal of "+second, func(r acqsim.Record) bool {
				return r.Kind == "reversal" && r.TransactionID == second && r.ReversesApproved
			})

			// Abort while waiting for the card; Busy meanwhile.
			wsid := c.serviceID()
			waiting := make(chan map[string]any, 1)
			go func() {
				doc, _ := c.send(ctx, CategoryPayment, wsid, paymentBody("TX-"+wsid, amtWait))
				waiting <- doc
			}()
			c2 := &client{d: d, encrypted: encrypted, saleID: c.saleID, n: 500}
			waitStatus(t, c2, wsid, "InProgress")
			doc, _ = c2.send(ctx, CategoryPayment, c2.serviceID(), paymentBody("TX-busy", amtApprove))
			if res, cond := result(doc, "PaymentResponse"); res != "Failure" || cond != "Busy" {
				t.Fatalf("second payment while one waits: %s %s", res, cond)
			}
			c2.abort(t, wsid)
			awaitAborted(t, waiting)

			// Diagnosis.
			doc, _ = c.send(ctx, CategoryDiagnosis, c.serviceID(), map[string]any{"HostDiagnosisFlag": true})
			if res, _ := result(doc, "DiagnosisResponse"); res != "Success" || at(doc, "SaleToPOIResponse", "DiagnosisResponse", "POIStatus", "GlobalStatus") != "Ok" ||
				at(doc, "SaleToPOIResponse", "DiagnosisResponse", "POIStatus", "CommunicationOKFlag") != true {
				t.Fatalf("diagnosis: %v", doc)
			}
		})
	}
}

// waitJournal waits until the acquirer simulator's journal has a record
// that match accepts.
func (d *daemon) waitJournal(t *testing.T, what string, match func(acqsim.Record) bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		recs, _ := acqsim.ReadJournal(filepath.Join(d.dir, "journal.jsonl"))
		for _, r := range recs {
			if match(r) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the acquirer never saw the %s: %+v", what, recs)
		}
	}
}

// abort sends an Abort of the Payment serviceID started (of c's SaleID);
// nexo has no answer to it.
func (c *client) abort(t *testing.T, serviceID string) {
	t.Helper()
	doc, out := c.send(context.Background(), CategoryAbort, c.serviceID(), map[string]any{"AbortReason": "MerchantAbort",
		"MessageReference": map[string]any{"MessageCategory": "Payment", "SaleID": c.saleID, "ServiceID": serviceID}})
	if !out.OK || len(doc) != 0 {
		t.Fatalf("abort: %+v %v", out, doc)
	}
}

// awaitAborted waits for the answer of an aborted Payment: Failure/Aborted.
func awaitAborted(t *testing.T, answer <-chan map[string]any) map[string]any {
	t.Helper()
	var doc map[string]any
	select {
	case doc = <-answer:
	case <-time.After(30 * time.Second):
		t.Fatal("aborted payment did not answer")
	}
	if res, cond := result(doc, "PaymentResponse"); res != "Failure" || cond != "Aborted" {
		t.Fatalf("aborted payment: %s %s: %v", res, cond, doc)
	}
	return doc
}

func (d *daemon) journalCount(match func(acqsim.Record) bool) int {
	recs, _ := acqsim.ReadJournal(filepath.Join(d.dir, "journal.jsonl"))
	n := 0
	for _, r := range recs {
		if match(r) {
			n++
		}
	}
	return n
}

// TestAdyenLibraryAbortAfterRequestLeft: an Abort that arrives while the
// authorisation is at the acquirer (which answers after 3 s): the payment
// answers Failure/Aborted and the engine reverses it.
func TestAdyenLibraryAbortAfterRequestLeft(t *testing.T) {
	requireNode(t)
	d := testbed(t)
	d.start()
	c := &client{d: d, encrypted: true, saleID: "POS-slow"}
	sid := c.serviceID()
	done := make(chan map[string]any, 1)
	go func() {
		doc, _ := c.send(context.Background(), CategoryPayment, sid, paymentBody("TX-"+sid, amtSlow))
		done <- doc
	}()
	id := PaymentID(c.saleID, sid)
	d.waitJournal(t, "slow authorisation", func(r acqsim.Record) bool { return r.TransactionID == id && r.Kind == "financial" }) // journalled before the delayed answer
	c.abort(t, sid)
	doc := awaitAborted(t, done)
	if add, _ := at(doc, "SaleToPOIResponse", "PaymentResponse", "Response", "AdditionalResponse").(string); !strings.Contains(add, "reversed=true") {
		t.Errorf("AdditionalResponse %q does not say the payment was reversed", add)
	}
	d.waitJournal(t, "reversal of the aborted payment", func(r acqsim.Record) bool { return r.TransactionID == id && r.Kind == "reversal" })
}

// waitStatus asks TransactionStatus until the referenced payment is in cond
// ("InProgress") or the test times out.
func waitStatus(t *testing.T, c *client, serviceID string, cond string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		doc, _ := c.send(context.Background(), CategoryTransactionStatus, c.serviceID(), map[string]any{
			"MessageReference": map[string]any{"MessageCategory": "Payment", "SaleID": c.saleID, "ServiceID": serviceID}})
		res, got := result(doc, "TransactionStatusResponse")
		if got == cond || (cond == "" && res == "Success") {
			return doc
		}
		if time.Now().After(deadline) {
			t.Fatalf("TransactionStatus of %s: %s %s, want %s", serviceID, res, got, cond)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func maskedPAN(s string) bool {
	digits := strings.Count(s, "") - 1 - strings.Count(s, "*") - strings.Count(s, " ")
	return len(s) >= 12 && strings.Contains(s, "*") && digits <= 10
}

// TestAdyenLibraryKilledMidPayment: the daemon is killed with SIGKILL while
// a payment waits for the card, and restarted on the same data file;
// TransactionStatus then answers what became of it, through the encrypted
// library.
func TestAdyenLibraryKilledMidPayment(t *testing.T) {
	requireNode(t)
	d := testbed(t)
	d.start()
	c := &client{d: d, encrypted: true, saleID: "POS-kill"}
	sid := c.serviceID()
	go c.send(context.Background(), CategoryPayment, sid, paymentBody("TX-"+sid, amtWait))
	waitStatus(t, c, sid, "InProgress")
	d.kill()
	d.start()
	doc := waitStatus(t, c, sid, "")
	rep := at(doc, "SaleToPOIResponse", "TransactionStatusResponse", "RepeatedMessageResponse")
	if at(rep, "MessageHeader", "ServiceID") != sid ||
		at(rep, "RepeatedResponseMessageBody", "PaymentResponse", "Response", "Result") != "Failure" ||
		at(rep, "RepeatedResponseMessageBody", "PaymentResponse", "Response", "ErrorCondition") != "Aborted" {
		t.Fatalf("after restart: %v", doc)
	}
	// And the last-one form (no MessageReference) finds it too.
	doc, _ = c.send(context.Background(), CategoryTransactionStatus, c.serviceID(), map[string]any{})
	rep = at(doc, "SaleToPOIResponse", "TransactionStatusResponse", "RepeatedMessageResponse")
	if at(rep, "RepeatedResponseMessageBody", "PaymentResponse", "POIData", "POITransactionID", "TransactionID") != PaymentID(c.saleID, sid) ||
		at(rep, "MessageHeader", "ServiceID") != sid ||
		at(rep, "RepeatedResponseMessageBody", "PaymentResponse", "SaleData", "SaleTransactionID", "TransactionID") != "TX-"+sid {
		t.Fatalf("last transaction after restart: %v", doc)
	}
}

// TestAdyenLibraryRefusals: what the library sees for a wrong passphrase,
// and that the encrypted class refuses a terminal certificate not named
// as Adyen names terminals.
func TestAdyenLibraryRefusals(t *testing.T) {
	requireNode(t)
	d := testbed(t)
	d.start()
	ctx := context.Background()
	c := &client{d: d, encrypted: true, saleID: "POS-x"}
	a := map[string]any{}
	json.Unmarshal(c.args(CategoryPayment, "w1", paymentBody("TX-w1", amtApprove)), &a)
	a["key"].(map[string]any)["passphrase"] = "wrong"
	out := d.lib.do(t, a)
	if out.OK || !strings.Contains(out.Error, "NexoBlob") { // the library finds no SaleToPOIResponse.NexoBlob in the Reject
		t.Fatalf("wrong passphrase: %+v", out)
	}
	// Nothing was paid: the ServiceID is unknown to TransactionStatus.
	doc, _ := c.send(ctx, CategoryTransactionStatus, "w2", map[string]any{"MessageReference": map[string]any{"SaleID": "POS-x", "ServiceID": "w1"}})
	if res, cond := result(doc, "TransactionStatusResponse"); res != "Failure" || cond != "NotFound" {
		t.Fatalf("status after refused message: %s %s", res, cond)
	}
	// A certificate named otherwise (the acquirer simulator's own, CN
	// "acqsim server") is refused by the library's checkServerIdentity.
	os.Rename(filepath.Join(d.dir, CertFileName), filepath.Join(d.dir, "adyen.pem"))
	os.Rename(filepath.Join(d.dir, KeyFileName), filepath.Join(d.dir, "adyen-key.pem"))
	copyFile(t, filepath.Join(d.dir, "tls", acqsim.ServerCertFile), filepath.Join(d.dir, CertFileName))
	copyFile(t, filepath.Join(d.dir, "tls", acqsim.ServerKeyFile), filepath.Join(d.dir, KeyFileName))
	d.kill()
	d.start()
	_, out = c.send(ctx, CategoryDiagnosis, "w3", map[string]any{})
	if out.OK || !strings.Contains(out.Error, "verify certificate") {
		t.Fatalf("wrongly named certificate accepted: %+v", out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
