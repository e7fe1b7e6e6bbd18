package acqsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"posagent/uplink"
)

// Certificate file names written by InitCerts into its directory.
const (
	CAFile         = "ca.pem"
	CAKeyFile      = "ca-key.pem"
	ServerCertFile = "server.pem"
	ServerKeyFile  = "server-key.pem"
	ClientCertFile = "client.pem"
	ClientKeyFile  = "client-key.pem"
)

// InitCerts writes a test CA, a server certificate for localhost /
// 127.0.0.1 / ::1 and a client certificate (ECDSA P-256, valid 2 years)
// into dir. Private keys are written 0600. Existing files are not
// overwritten: it fails instead.
func InitCerts(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, f := range []string{CAFile, CAKeyFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("acqsim: %s already exists; not overwriting", filepath.Join(dir, f))
		}
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "acqsim test CA", Organization: []string{"posagent acqsim"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(2 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, CAFile), "CERTIFICATE", caDER, 0o644); err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, CAKeyFile), caKey); err != nil {
		return err
	}
	leaf := func(cn string, usage x509.ExtKeyUsage, certFile, keyFile string, server bool) error {
		var dns []string
		var ips []net.IP
		if server {
			dns = []string{"localhost", "acqsim"}
			ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		}
		return signLeaf(ca, caKey, cn, "posagent acqsim", usage, dns, ips, filepath.Join(dir, certFile), filepath.Join(dir, keyFile))
	}
	if err := leaf("acqsim server", x509.ExtKeyUsageServerAuth, ServerCertFile, ServerKeyFile, true); err != nil {
		return err
	}
	return leaf("posagent terminal", x509.ExtKeyUsageClientAuth, ClientCertFile, ClientKeyFile, false)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

// ServerTLS loads the server side of dir: the server certificate, and the
// CA that client certificates must chain to (mutual TLS required).
func ServerTLS(dir string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile))
	if err != nil {
		return nil, fmt.Errorf("acqsim: loading server certificate: %w", err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, fmt.Errorf("acqsim: reading CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("acqsim: no certificate in " + CAFile)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}, nil
}

// ClientTLSFiles names the client side of dir for uplink.TLSFiles.
func ClientTLSFiles(dir string) uplink.TLSFiles {
	return uplink.TLSFiles{
		CAFile:   filepath.Join(dir, CAFile),
		CertFile: filepath.Join(dir, ClientCertFile),
		KeyFile:  filepath.Join(dir, ClientKeyFile),
	}
}

// IssueServerCert issues a server certificate with subject CommonName cn
// (and cn, localhost, 127.0.0.1, ::1 as names) from the CA that InitCerts
// wrote into caDir, writing certFile and keyFile (0600). The nexo endpoint
// uses it for a terminal certificate named as Adyen's libraries expect.
func IssueServerCert(caDir, cn string, ips []net.IP, certFile, keyFile string) error {
	pair, err := tls.LoadX509KeyPair(filepath.Join(caDir, CAFile), filepath.Join(caDir, CAKeyFile))
	if err != nil {
		return fmt.Errorf("acqsim: loading CA: %w", err)
	}
	ca, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return err
	}
	caKey, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return errors.New("acqsim: CA key is not ECDSA")
	}
	ips = append([]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, ips...)
	return signLeaf(ca, caKey, cn, "posagent", x509.ExtKeyUsageServerAuth, []string{cn, "localhost"}, ips, certFile, keyFile)
}

// signLeaf issues a certificate for a fresh P-256 key from ca and writes
// both (the key 0600).
func signLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn, org string, usage x509.ExtKeyUsage, dns []string, ips []net.IP, certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{org}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(2 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	return writeKey(keyPath, key)
}
