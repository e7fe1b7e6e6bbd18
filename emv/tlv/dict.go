package tlv

// Format is an EMV data element format (Book 3 section 4.3).
type Format uint8

// Formats.
const (
	FormatB   Format = iota // binary
	FormatN                 // numeric, BCD, right-justified
	FormatCN                // compressed numeric, left-justified, F-padded
	FormatAN                // alphanumeric
	FormatANS               // alphanumeric special
)

func (f Format) String() string {
	return [...]string{"b", "n", "cn", "an", "ans"}[f]
}

// Source says who provides a data element.
type Source uint8

// Sources.
const (
	FromICC Source = iota
	FromTerminal
	FromIssuer
)

func (s Source) String() string { return [...]string{"ICC", "terminal", "issuer"}[s] }

// Sensitivity says how a value must be shown.
type Sensitivity uint8

// Sensitivity levels: a PAN is shown masked, track data hidden past the
// masked PAN, secrets (cryptograms, signatures, keys, PIN data) not at all.
const (
	Public Sensitivity = iota
	SensitivePAN
	SensitiveTrack
	SensitiveSecret
	SensitiveName
)

// Info describes a tag.
type Info struct {
	Name      string
	Format    Format
	Source    Source
	Sensitive Sensitivity
}

// Lookup returns what the dictionary knows of t; unknown tags are binary.
func Lookup(t Tag) Info {
	if i, ok := dictionary[t]; ok {
		return i
	}
	return Info{Name: "unknown", Format: FormatB, Source: FromICC}
}

var dictionary = map[Tag]Info{
	0x42:     {"Issuer Identification Number", FormatN, FromICC, Public},
	0x4F:     {"Application Identifier (AID)", FormatB, FromICC, Public},
	0x50:     {"Application Label", FormatANS, FromICC, Public},
	0x56:     {"Track 1 Data", FormatANS, FromICC, SensitiveTrack},
	0x57:     {"Track 2 Equivalent Data", FormatB, FromICC, SensitiveTrack},
	0x5A:     {"Application PAN", FormatCN, FromICC, SensitivePAN},
	0x5F20:   {"Cardholder Name", FormatANS, FromICC, SensitiveName},
	0x5F24:   {"Application Expiration Date", FormatN, FromICC, Public},
	0x5F25:   {"Application Effective Date", FormatN, FromICC, Public},
	0x5F28:   {"Issuer Country Code", FormatN, FromICC, Public},
	0x5F2A:   {"Transaction Currency Code", FormatN, FromTerminal, Public},
	0x5F2D:   {"Language Preference", FormatAN, FromICC, Public},
	0x5F30:   {"Service Code", FormatN, FromICC, Public},
	0x5F34:   {"PAN Sequence Number", FormatN, FromICC, Public},
	0x5F36:   {"Transaction Currency Exponent", FormatN, FromTerminal, Public},
	0x5F50:   {"Issuer URL", FormatANS, FromICC, Public},
	0x5F53:   {"IBAN", FormatB, FromICC, Public},
	0x5F54:   {"Bank Identifier Code (BIC)", FormatB, FromICC, Public},
	0x61:     {"Application Template", FormatB, FromICC, Public},
	0x6F:     {"FCI Template", FormatB, FromICC, Public},
	0x70:     {"READ RECORD Response Template", FormatB, FromICC, Public},
	0x71:     {"Issuer Script Template 1", FormatB, FromIssuer, Public},
	0x72:     {"Issuer Script Template 2", FormatB, FromIssuer, Public},
	0x73:     {"Directory Discretionary Template", FormatB, FromICC, Public},
	0x77:     {"Response Message Template Format 2", FormatB, FromICC, Public},
	0x80:     {"Response Message Template Format 1", FormatB, FromICC, Public},
	0x81:     {"Amount, Authorised (Binary)", FormatB, FromTerminal, Public},
	0x82:     {"Application Interchange Profile", FormatB, FromICC, Public},
	0x83:     {"Command Template", FormatB, FromTerminal, Public},
	0x84:     {"Dedicated File (DF) Name", FormatB, FromICC, Public},
	0x87:     {"Application Priority Indicator", FormatB, FromICC, Public},
	0x88:     {"Short File Identifier (SFI)", FormatB, FromICC, Public},
	0x89:     {"Authorisation Code", FormatANS, FromIssuer, Public},
	0x8A:     {"Authorisation Response Code", FormatAN, FromIssuer, Public},
	0x8C:     {"CDOL1", FormatB, FromICC, Public},
	0x8D:     {"CDOL2", FormatB, FromICC, Public},
	0x8E:     {"CVM List", FormatB, FromICC, Public},
	0x8F:     {"CA Public Key Index", FormatB, FromICC, Public},
	0x90:     {"Issuer Public Key Certificate", FormatB, FromICC, Public},
	0x91:     {"Issuer Authentication Data", FormatB, FromIssuer, SensitiveSecret},
	0x92:     {"Issuer Public Key Remainder", FormatB, FromICC, Public},
	0x93:     {"Signed Static Application Data", FormatB, FromICC, Public},
	0x94:     {"Application File Locator (AFL)", FormatB, FromICC, Public},
	0x95:     {"Terminal Verification Results", FormatB, FromTerminal, Public},
	0x97:     {"TDOL", FormatB, FromICC, Public},
	0x98:     {"TC Hash Value", FormatB, FromTerminal, Public},
	0x99:     {"Transaction PIN Data", FormatB, FromTerminal, SensitiveSecret},
	0x9A:     {"Transaction Date", FormatN, FromTerminal, Public},
	0x9B:     {"Transaction Status Information", FormatB, FromTerminal, Public},
	0x9C:     {"Transaction Type", FormatN, FromTerminal, Public},
	0x9D:     {"DDF Name", FormatB, FromICC, Public},
	0xA5:     {"FCI Proprietary Template", FormatB, FromICC, Public},
	0xBF0C:   {"FCI Issuer Discretionary Data", FormatB, FromICC, Public},
	0x9F01:   {"Acquirer Identifier", FormatN, FromTerminal, Public},
	0x9F02:   {"Amount, Authorised (Numeric)", FormatN, FromTerminal, Public},
	0x9F03:   {"Amount, Other (Numeric)", FormatN, FromTerminal, Public},
	0x9F06:   {"Application Identifier (AID) - terminal", FormatB, FromTerminal, Public},
	0x9F07:   {"Application Usage Control", FormatB, FromICC, Public},
	0x9F08:   {"Application Version Number (card)", FormatB, FromICC, Public},
	0x9F09:   {"Application Version Number (terminal)", FormatB, FromTerminal, Public},
	0x9F0D:   {"Issuer Action Code - Default", FormatB, FromICC, Public},
	0x9F0E:   {"Issuer Action Code - Denial", FormatB, FromICC, Public},
	0x9F0F:   {"Issuer Action Code - Online", FormatB, FromICC, Public},
	0x9F10:   {"Issuer Application Data", FormatB, FromICC, Public},
	0x9F11:   {"Issuer Code Table Index", FormatN, FromICC, Public},
	0x9F12:   {"Application Preferred Name", FormatANS, FromICC, Public},
	0x9F13:   {"Last Online ATC Register", FormatB, FromICC, Public},
	0x9F14:   {"Lower Consecutive Offline Limit", FormatB, FromICC, Public},
	0x9F15:   {"Merchant Category Code", FormatN, FromTerminal, Public},
	0x9F16:   {"Merchant Identifier", FormatANS, FromTerminal, Public},
	0x9F17:   {"PIN Try Counter", FormatB, FromICC, Public},
	0x9F1A:   {"Terminal Country Code", FormatN, FromTerminal, Public},
	0x9F1B:   {"Terminal Floor Limit", FormatB, FromTerminal, Public},
	0x9F1C:   {"Terminal Identification", FormatAN, FromTerminal, Public},
	0x9F1D:   {"Terminal Risk Management Data", FormatB, FromTerminal, Public},
	0x9F1E:   {"Interface Device Serial Number", FormatAN, FromTerminal, Public},
	0x9F1F:   {"Track 1 Discretionary Data", FormatANS, FromICC, SensitiveTrack},
	0x9F20:   {"Track 2 Discretionary Data", FormatCN, FromICC, SensitiveTrack},
	0x9F21:   {"Transaction Time", FormatN, FromTerminal, Public},
	0x9F26:   {"Application Cryptogram", FormatB, FromICC, SensitiveSecret},
	0x9F27:   {"Cryptogram Information Data", FormatB, FromICC, Public},
	0x9F2A:   {"Kernel Identifier", FormatB, FromICC, Public},
	0x9F2D:   {"ICC PIN Encipherment Public Key Certificate", FormatB, FromICC, Public},
	0x9F32:   {"Issuer Public Key Exponent", FormatB, FromICC, Public},
	0x9F33:   {"Terminal Capabilities", FormatB, FromTerminal, Public},
	0x9F34:   {"CVM Results", FormatB, FromTerminal, Public},
	0x9F35:   {"Terminal Type", FormatN, FromTerminal, Public},
	0x9F36:   {"Application Transaction Counter (ATC)", FormatB, FromICC, Public},
	0x9F37:   {"Unpredictable Number", FormatB, FromTerminal, Public},
	0x9F38:   {"PDOL", FormatB, FromICC, Public},
	0x9F39:   {"POS Entry Mode", FormatN, FromTerminal, Public},
	0x9F3A:   {"Amount, Reference Currency", FormatB, FromTerminal, Public},
	0x9F40:   {"Additional Terminal Capabilities", FormatB, FromTerminal, Public},
	0x9F41:   {"Transaction Sequence Counter", FormatN, FromTerminal, Public},
	0x9F42:   {"Application Currency Code", FormatN, FromICC, Public},
	0x9F44:   {"Application Currency Exponent", FormatN, FromICC, Public},
	0x9F45:   {"Data Authentication Code", FormatB, FromICC, Public},
	0x9F46:   {"ICC Public Key Certificate", FormatB, FromICC, Public},
	0x9F47:   {"ICC Public Key Exponent", FormatB, FromICC, Public},
	0x9F48:   {"ICC Public Key Remainder", FormatB, FromICC, Public},
	0x9F49:   {"DDOL", FormatB, FromICC, Public},
	0x9F4A:   {"Static Data Authentication Tag List", FormatB, FromICC, Public},
	0x9F4B:   {"Signed Dynamic Application Data", FormatB, FromICC, SensitiveSecret},
	0x9F4C:   {"ICC Dynamic Number", FormatB, FromICC, Public},
	0x9F4D:   {"Log Entry", FormatB, FromICC, Public},
	0x9F4E:   {"Merchant Name and Location", FormatANS, FromTerminal, Public},
	0x9F4F:   {"Log Format", FormatB, FromICC, Public},
	0x9F5C:   {"DS Requested Operator ID", FormatB, FromTerminal, Public},
	0x9F5D:   {"Available Offline Spending Amount", FormatB, FromICC, Public},
	0x9F66:   {"Terminal Transaction Qualifiers (TTQ)", FormatB, FromTerminal, Public},
	0x9F69:   {"Card Authentication Related Data", FormatB, FromICC, Public},
	0x9F6B:   {"Track 2 Data (Mastercard)", FormatB, FromICC, SensitiveTrack},
	0x9F6C:   {"Card Transaction Qualifiers (CTQ)", FormatB, FromICC, Public},
	0x9F6E:   {"Form Factor Indicator / Third Party Data", FormatB, FromICC, Public},
	0x9F7C:   {"Customer Exclusive Data", FormatB, FromICC, Public},
	0x9F7F:   {"Card Production Life Cycle (CPLC)", FormatB, FromICC, Public},
	0xDF60:   {"Log Entry (proprietary)", FormatB, FromICC, Public},
	0xDF61:   {"Proprietary data", FormatB, FromICC, Public},
	0x9F6D:   {"Mag-stripe Application Version Number (Reader)", FormatB, FromTerminal, Public},
	0x9F53:   {"Transaction Category Code", FormatAN, FromTerminal, Public},
	0x9F5A:   {"Application Program Identifier", FormatB, FromICC, Public},
	0x9F24:   {"Payment Account Reference", FormatAN, FromICC, Public},
	0x9F19:   {"Token Requestor ID", FormatN, FromICC, Public},
	0x9F25:   {"Last 4 Digits of PAN", FormatN, FromICC, Public},
	0xDF8117: {"Card Data Input Capability", FormatB, FromTerminal, Public},
	0xDF8118: {"CVM Capability - CVM Required", FormatB, FromTerminal, Public},
	0xDF8119: {"CVM Capability - No CVM Required", FormatB, FromTerminal, Public},
	0xDF811B: {"Kernel Configuration", FormatB, FromTerminal, Public},
	0xDF811F: {"Security Capability", FormatB, FromTerminal, Public},
	0xDF8120: {"TAC - Default", FormatB, FromTerminal, Public},
	0xDF8121: {"TAC - Denial", FormatB, FromTerminal, Public},
	0xDF8122: {"TAC - Online", FormatB, FromTerminal, Public},
	0xDF8123: {"Reader Contactless Floor Limit", FormatN, FromTerminal, Public},
	0xDF8124: {"Reader CL Transaction Limit (No On-device CVM)", FormatN, FromTerminal, Public},
	0xDF8125: {"Reader CL Transaction Limit (On-device CVM)", FormatN, FromTerminal, Public},
	0xDF8126: {"Reader CVM Required Limit", FormatN, FromTerminal, Public},
	0x9F7A:   {"VLP Terminal Support Indicator", FormatB, FromTerminal, Public},
	0x9F7B:   {"VLP Terminal Transaction Limit", FormatN, FromTerminal, Public},
	0x9F0B:   {"Cardholder Name Extended", FormatANS, FromICC, SensitiveName},
	0x9F6A:   {"Unpredictable Number (Numeric)", FormatN, FromTerminal, Public},
	0x9F63:   {"Offline Counter Initial Value / PUNATC", FormatB, FromICC, Public},
	0x9F51:   {"Application Currency Code (proprietary)", FormatN, FromICC, Public},
	0x9F5B:   {"Issuer Script Results", FormatB, FromTerminal, Public},
}
