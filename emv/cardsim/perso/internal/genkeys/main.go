// Command genkeys writes the TEST-ONLY RSA keys of the posagent software
// cards to emv/cardsim/perso/testkeys. The keys are committed; run this only
// to replace them (then rebuild the CA list with go generate ./emv/capk and
// re-run the tests):
//
//	go run ./emv/cardsim/perso/internal/genkeys -force
//
// crypto/rsa.GenerateKey always uses exponent 65537, while EMV CA and issuer
// keys mostly use 3, so the primes are drawn here with the exponent in mind.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
)

// keySpec is one key to generate.
type keySpec struct {
	file    string
	bits    int
	exp     int
	headers map[string]string
}

// specs lists the test keys. CA indexes E1/E2/E3 are not used by any live or
// scheme test key in the reference list (checked by capk's tests).
var specs = []keySpec{
	{"TEST-ONLY-visa-ca.pem", 1408, 3, map[string]string{"Scheme": "visa", "Role": "ca", "RID": "A000000003", "Index": "E1"}},
	{"TEST-ONLY-visa-issuer.pem", 1152, 3, map[string]string{"Scheme": "visa", "Role": "issuer"}},
	{"TEST-ONLY-visa-icc.pem", 1024, 3, map[string]string{"Scheme": "visa", "Role": "icc"}},
	{"TEST-ONLY-mastercard-ca.pem", 1984, 3, map[string]string{"Scheme": "mastercard", "Role": "ca", "RID": "A000000004", "Index": "E2"}},
	{"TEST-ONLY-mastercard-issuer.pem", 1408, 3, map[string]string{"Scheme": "mastercard", "Role": "issuer"}},
	{"TEST-ONLY-mastercard-icc.pem", 1024, 65537, map[string]string{"Scheme": "mastercard", "Role": "icc"}},
	{"TEST-ONLY-unionpay-ca.pem", 1408, 3, map[string]string{"Scheme": "unionpay", "Role": "ca", "RID": "A000000333", "Index": "E3"}},
	{"TEST-ONLY-unionpay-issuer.pem", 1408, 65537, map[string]string{"Scheme": "unionpay", "Role": "issuer"}},
	{"TEST-ONLY-unionpay-icc.pem", 1024, 3, map[string]string{"Scheme": "unionpay", "Role": "icc"}},
}

const banner = "# TEST KEY - posagent software cards only. Public in the repository:\n" +
	"# never personalise a real card with it, never trust it for live money.\n"

func main() {
	dir := flag.String("dir", "emv/cardsim/perso/testkeys", "output directory")
	force := flag.Bool("force", false, "overwrite existing keys")
	flag.Parse()
	if err := run(*dir, *force); err != nil {
		fmt.Fprintln(os.Stderr, "genkeys:", err)
		os.Exit(1)
	}
}

func run(dir string, force bool) error {
	for _, s := range specs {
		path := filepath.Join(dir, s.file)
		if _, err := os.Stat(path); err == nil && !force {
			return fmt.Errorf("%s exists (use -force to replace the committed keys)", path)
		}
		key, err := generate(s.bits, s.exp)
		if err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
		block := &pem.Block{Type: "RSA PRIVATE KEY", Headers: s.headers, Bytes: x509.MarshalPKCS1PrivateKey(key)}
		out := append([]byte(banner), pem.EncodeToMemory(block)...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %d-bit, e=%d\n", path, key.N.BitLen(), key.E)
	}
	return nil
}

// generate returns an RSA key of exactly bits bits (bits even) with public
// exponent e.
func generate(bits, e int) (*rsa.PrivateKey, error) {
	if bits%2 != 0 {
		return nil, errors.New("odd key size")
	}
	E := big.NewInt(int64(e))
	one := big.NewInt(1)
	prime := func() (*big.Int, error) {
		for {
			p, err := rand.Prime(rand.Reader, bits/2)
			if err != nil {
				return nil, err
			}
			if new(big.Int).GCD(nil, nil, new(big.Int).Sub(p, one), E).Cmp(one) == 0 {
				return p, nil
			}
		}
	}
	for {
		p, err := prime()
		if err != nil {
			return nil, err
		}
		q, err := prime()
		if err != nil {
			return nil, err
		}
		n := new(big.Int).Mul(p, q)
		if p.Cmp(q) == 0 || n.BitLen() != bits {
			continue
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(E, phi)
		if d == nil {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: e}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		if err := k.Validate(); err != nil {
			return nil, err
		}
		return k, nil
	}
}
