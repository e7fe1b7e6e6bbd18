package emv

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"posagent/money"
	"strings"
)

// Kernel identifies a kernel (EMVCo Book B kernel IDs).
type Kernel uint8

// Kernels this terminal runs. KernelGeneric runs every AID whose scheme
// kernel we do not implement.
const (
	KernelGeneric Kernel = 0
	KernelC2      Kernel = 2
	KernelC3      Kernel = 3
	KernelC4      Kernel = 4
	KernelC5      Kernel = 5
	KernelC6      Kernel = 6
	KernelC7      Kernel = 7
)

func (k Kernel) String() string {
	switch k {
	case KernelC2, KernelC3, KernelC7:
		return fmt.Sprintf("C-%d", k)
	}
	return "generic"
}

// AIDConfig is one entry of the terminal's AID list, with the per-AID
// contactless limits used by Entry Point pre-processing. Amounts are in
// minor units of the transaction currency.
type AIDConfig struct {
	AID    HexBytes `json:"aid"`
	Label  string   `json:"label,omitempty"`
	Scheme string   `json:"scheme"`
	// Kernel is the kernel this AID runs on (2, 3, 7, or 0 = generic).
	Kernel Kernel `json:"kernel"`
	// SchemeKernel is the EMVCo Book B kernel id the scheme specifies
	// (C-4 Amex, C-5 JCB, C-6 Discover) when it differs from Kernel; 0 for
	// domestic kernels without an EMVCo id.
	SchemeKernel Kernel `json:"scheme_kernel,omitempty"`
	// PartialSelection lets the AID match card AIDs that extend it.
	PartialSelection bool `json:"partial_selection"`
	// TransactionLimit: above it the contactless transaction is not allowed
	// (0 = no limit).
	TransactionLimit int64 `json:"transaction_limit"`
	// FloorLimit: above it the transaction must go online.
	FloorLimit int64 `json:"floor_limit"`
	// CVMRequiredLimit: at or above it a CVM is required.
	CVMRequiredLimit int64 `json:"cvm_required_limit"`
	// ZeroAmount: "online" (zero amount allowed, online only), "offline"
	// (allowed, may be approved offline) or "no" (not allowed).
	ZeroAmount string `json:"zero_amount"`
	// TTQ is the base Terminal Transaction Qualifiers (9F66) for C-3/C-7.
	TTQ HexBytes `json:"ttq,omitempty"`
	// TAC Default/Denial/Online (5 bytes each) for C-2 and the generic path.
	TACDefault HexBytes `json:"tac_default,omitempty"`
	TACDenial  HexBytes `json:"tac_denial,omitempty"`
	TACOnline  HexBytes `json:"tac_online,omitempty"`
	// AppVersion is the terminal's application version number (9F09).
	AppVersion HexBytes `json:"app_version,omitempty"`
}

// Config is the terminal configuration. DefaultConfig gives working values
// for a euro-zone attended online POS; LoadConfig reads one from a file.
type Config struct {
	TerminalType    byte     `json:"terminal_type"`    // 9F35
	Capabilities    HexBytes `json:"capabilities"`     // 9F33, 3 bytes
	AddCapabilities HexBytes `json:"add_capabilities"` // 9F40, 5 bytes
	CountryCode     uint16   `json:"country_code"`     // 9F1A, numeric e.g. 250
	// CurrencyCode is the default 5F2A (ISO 4217 numeric, e.g. 978); the
	// exponent (5F36) follows each transaction's currency (package money).
	CurrencyCode uint16 `json:"currency_code"`
	MCC          uint16 `json:"mcc"`           // 9F15
	TerminalID   string `json:"terminal_id"`   // 9F1C, 8 chars
	MerchantID   string `json:"merchant_id"`   // 9F16, 15 chars
	MerchantName string `json:"merchant_name"` // 9F4E
	// OnlineCapable says the terminal can reach an acquirer.
	OnlineCapable bool `json:"online_capable"`
	// SupportCDA, SupportDDA, SupportSDA select the ODA methods offered.
	SupportCDA bool        `json:"support_cda"`
	SupportDDA bool        `json:"support_dda"`
	SupportSDA bool        `json:"support_sda"`
	AIDs       []AIDConfig `json:"aids"`
	// TestKeys allows scheme test CA keys and posagent's software-card test
	// CAs: for test benches only, never for live money. It is the only
	// switch (the CLI's --test-keys sets it).
	TestKeys bool `json:"test_keys"`
}

// HexBytes is a byte string written in hex in config files.
type HexBytes []byte

// MarshalText writes uppercase hex.
func (h HexBytes) MarshalText() ([]byte, error) {
	return []byte(strings.ToUpper(hex.EncodeToString(h))), nil
}

// UnmarshalText reads hex, spaces allowed.
func (h *HexBytes) UnmarshalText(b []byte) error {
	s := strings.ReplaceAll(string(b), " ", "")
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("bad hex %q: %w", s, err)
	}
	*h = v
	return nil
}

// schemeKernel records the kernel the scheme specifies when posagent runs
// another one for it.
func schemeKernel(c AIDConfig, k Kernel) AIDConfig {
	c.SchemeKernel = k
	return c
}

func mustHex(s string) HexBytes {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// DefaultConfig is a euro-zone attended online-capable POS (terminal type
// 22) with the common AID list and EU contactless limits (a EUR 50 CVM
// limit per tap, PSD2 RTS article 11), amounts in cents.
func DefaultConfig() Config {
	tac := func(def, den, onl string) (HexBytes, HexBytes, HexBytes) {
		return mustHex(def), mustHex(den), mustHex(onl)
	}
	d, n, o := tac("F45084800C", "0000000000", "F45084800C")
	aid := func(a, label, scheme string, k Kernel, ttq string) AIDConfig {
		c := AIDConfig{AID: mustHex(a), Label: label, Scheme: scheme, Kernel: k,
			PartialSelection: true, TransactionLimit: 1000000, FloorLimit: 0,
			CVMRequiredLimit: 5000, ZeroAmount: "online",
			TACDefault: d, TACDenial: n, TACOnline: o, AppVersion: mustHex("0002")}
		if ttq != "" {
			c.TTQ = mustHex(ttq)
		}
		return c
	}
	return Config{
		TerminalType:    0x22,
		Capabilities:    mustHex("E0F8C8"),
		AddCapabilities: mustHex("F000F0A001"),
		CountryCode:     250, // France
		CurrencyCode:    978,
		MCC:             5411,
		TerminalID:      "POSAGT01",
		MerchantID:      "000000000000001",
		MerchantName:    "posagent demo shop",
		OnlineCapable:   true,
		SupportCDA:      true,
		SupportDDA:      true,
		SupportSDA:      true,
		// The AID list. Sources: the EMVCo register of Registered
		// Application Provider Identifiers (RID, ISO/IEC 7816-5) at
		// emvco.com ("Registered RIDs"), the schemes' published AIDs as
		// collected in EFTlab's public "Complete list of application
		// identifiers (AID)" (eftlab.com knowledge base), and, for the
		// kernel each scheme specifies, EMVCo Book B (Entry Point) table
		// of kernel identifiers: C-2 Mastercard, C-3 Visa, C-4 American
		// Express, C-5 JCB, C-6 Discover, C-7 UnionPay. Schemes without an
		// EMVCo kernel id run domestic kernels (girocard, RuPay qSPARC,
		// Mir, eftpos, CB, Interac Flash): posagent runs its generic
		// path for them and for C-4/C-5/C-6. Every entry allows partial
		// selection (Book B 3.3.2.5): cards extend these AIDs with a PIX
		// suffix (UnionPay, girocard) or a product code.
		AIDs: []AIDConfig{
			// Visa (RID A000000003): credit/debit, Electron, V PAY, US
			// common debit (RID A000000098, Visa USA), Interlink.
			aid("A0000000031010", "VISA", "visa", KernelC3, "37004000"),
			aid("A0000000032010", "VISA ELECTRON", "visa", KernelC3, "37004000"),
			aid("A0000000032020", "V PAY", "visa", KernelC3, "37004000"),
			aid("A0000000033010", "VISA INTERLINK", "visa", KernelC3, "37004000"),
			aid("A0000000980840", "US DEBIT", "visa", KernelC3, "37004000"),
			// Mastercard (RID A000000004): Mastercard, Maestro, US Maestro
			// (common debit).
			aid("A0000000041010", "MASTERCARD", "mastercard", KernelC2, ""),
			aid("A0000000043060", "MAESTRO", "maestro", KernelC2, ""),
			aid("A0000000042203", "US MAESTRO", "maestro", KernelC2, ""),
			// UnionPay (RID A000000333): debit, credit, quasi-credit, US
			// common debit.
			aid("A000000333010101", "UnionPay Debit", "unionpay", KernelC7, "37004000"),
			aid("A000000333010102", "UnionPay Credit", "unionpay", KernelC7, "37004000"),
			aid("A000000333010103", "UnionPay Quasi-credit", "unionpay", KernelC7, "37004000"),
			aid("A000000333010108", "UnionPay US Debit", "unionpay", KernelC7, "37004000"),
			// American Express (RID A000000025), kernel C-4.
			schemeKernel(aid("A00000002501", "AMERICAN EXPRESS", "amex", KernelGeneric, ""), KernelC4),
			// JCB (RID A000000065), kernel C-5.
			schemeKernel(aid("A0000000651010", "JCB", "jcb", KernelGeneric, ""), KernelC5),
			// Discover and Diners Club International (D-PAS, RID
			// A000000152), US common debit; kernel C-6.
			schemeKernel(aid("A0000001523010", "DISCOVER", "discover", KernelGeneric, ""), KernelC6),
			schemeKernel(aid("A0000001524010", "DISCOVER DEBIT", "discover", KernelGeneric, ""), KernelC6),
			// Interac (RID A000000277, Canada).
			aid("A0000002771010", "INTERAC", "interac", KernelGeneric, ""),
			// girocard (Germany): the EAPS RID A000000359, and the ZKA/DK
			// RIDs A000000059 and D276000025 (girocard applications come
			// under several AIDs, e.g. D27600002547410100; partial
			// selection takes them all).
			aid("A0000003591010028001", "girocard", "girocard", KernelGeneric, ""),
			aid("A000000059", "girocard", "girocard", KernelGeneric, ""),
			aid("D276000025", "girocard", "girocard", KernelGeneric, ""),
			// CB (Groupement des Cartes Bancaires, RID A000000042, France).
			aid("A0000000421010", "CB", "cb", KernelGeneric, "37004000"),
			// RuPay (NPCI, RID A000000524, India).
			aid("A0000005241010", "RuPay", "rupay", KernelGeneric, ""),
			// Mir (NSPK, RID A000000658, Russia): credit, debit.
			aid("A0000006581010", "MIR", "mir", KernelGeneric, ""),
			aid("A0000006582010", "MIR", "mir", KernelGeneric, ""),
			// eftpos (eftpos Payments Australia, RID A000000384):
			// savings, cheque.
			aid("A00000038410", "EFTPOS SAV", "eftpos", KernelGeneric, ""),
			aid("A00000038420", "EFTPOS CHQ", "eftpos", KernelGeneric, ""),
			// Domestic European debit: Dankort (Nets, RID A000000121),
			// BankAxept (RID D578000002, Norway), PagoBANCOMAT (RID
			// A000000141, Italy).
			aid("A0000001211010", "DANKORT", "dankort", KernelGeneric, ""),
			aid("D5780000021010", "BankAxept", "bankaxept", KernelGeneric, ""),
			aid("A0000001410001", "PagoBANCOMAT", "pagobancomat", KernelGeneric, ""),
		},
	}
}

// ErrConfig wraps every configuration problem.
var ErrConfig = errors.New("emv: bad terminal configuration")

// LoadConfig reads a JSON configuration. Fields left out keep the default
// values; an "aids" list, when given, replaces the default list.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	c := DefaultConfig()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Validate checks sizes of the fields the kernel sends to cards.
func (c Config) Validate() error {
	if len(c.Capabilities) != 3 {
		return fmt.Errorf("%w: capabilities must be 3 bytes", ErrConfig)
	}
	if len(c.AddCapabilities) != 5 {
		return fmt.Errorf("%w: add_capabilities must be 5 bytes", ErrConfig)
	}
	if _, err := money.Numeric(c.CurrencyCode); err != nil {
		return fmt.Errorf("%w: currency_code: %v", ErrConfig, err)
	}
	if len(c.AIDs) == 0 {
		return fmt.Errorf("%w: empty AID list", ErrConfig)
	}
	for i, a := range c.AIDs {
		switch {
		case len(a.AID) < 5 || len(a.AID) > 16:
			return fmt.Errorf("%w: aids[%d]: AID must be 5 to 16 bytes", ErrConfig, i)
		case a.TTQ != nil && len(a.TTQ) != 4:
			return fmt.Errorf("%w: aids[%d]: ttq must be 4 bytes", ErrConfig, i)
		case a.TACDefault != nil && len(a.TACDefault) != 5, a.TACDenial != nil && len(a.TACDenial) != 5, a.TACOnline != nil && len(a.TACOnline) != 5:
			return fmt.Errorf("%w: aids[%d]: TACs must be 5 bytes", ErrConfig, i)
		case a.ZeroAmount != "" && a.ZeroAmount != "online" && a.ZeroAmount != "offline" && a.ZeroAmount != "no":
			return fmt.Errorf("%w: aids[%d]: zero_amount must be online, offline or no", ErrConfig, i)
		}
		switch a.Kernel {
		case KernelGeneric, KernelC2, KernelC3, KernelC7:
		default:
			return fmt.Errorf("%w: aids[%d]: kernel %d not supported (2, 3, 7 or 0)", ErrConfig, i, a.Kernel)
		}
		if a.SchemeKernel > 8 {
			return fmt.Errorf("%w: aids[%d]: scheme_kernel %d is not an EMVCo kernel id (1-8, or 0)", ErrConfig, i, a.SchemeKernel)
		}
	}
	return nil
}
