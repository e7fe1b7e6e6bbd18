package oda

import (
	"bytes"
	"crypto/sha1"
)

// VerifySDA verifies Signed Static Application Data (tag 93, format 03) with
// the issuer public key over the static data to be authenticated, following
// EMV Book 2 section 5.4, and returns the Data Authentication Code.
func VerifySDA(issuer PublicKey, ssad []byte, staticData []byte) (dac [2]byte, err error) {
	const step = StepSDA
	b, ce := recoverData(issuer, ssad, step)
	if ce != nil {
		return dac, ce
	}
	n := len(b)
	if n < 26 {
		return dac, fail(step, ErrLength, "is %d bytes, too short for the format", n)
	}
	if ce := frame(step, b, 0x03); ce != nil {
		return dac, ce
	}
	if sum := sha1Of(b[1:n-21], staticData); !bytes.Equal(sum[:], b[n-21:n-1]) {
		return dac, fail(step, ErrHash, "hash result does not match the static data to be authenticated")
	}
	copy(dac[:], b[3:5])
	return dac, nil
}

// VerifyDDA verifies Signed Dynamic Application Data (tag 9F4B, format 05)
// with the ICC public key over the terminal's dynamic data (the DDOL data of
// INTERNAL AUTHENTICATE), following EMV Book 2 section 6.5, and returns the
// ICC Dynamic Number.
func VerifyDDA(icc PublicKey, sdad []byte, ddolData []byte) (iccDynamicNumber []byte, err error) {
	dyn, ce := verifySDAD(StepDDA, icc, sdad, ddolData)
	if ce != nil {
		return nil, ce
	}
	num, ce := dynamicNumber(StepDDA, dyn)
	if ce != nil {
		return nil, ce
	}
	return num, nil
}

// FDDAData is the terminal dynamic data a Visa fDDA signature covers:
// fDDA version 01 (card authentication related data, tag 9F69, present)
// UN (9F37) | amount (9F02) | currency (5F2A) | 9F69; version 00 (9F69
// absent) the UN alone.
func FDDAData(un, amount, currency, cardAuthData []byte) []byte {
	if len(cardAuthData) == 0 {
		return bytes.Clone(un)
	}
	out := make([]byte, 0, len(un)+len(amount)+len(currency)+len(cardAuthData))
	out = append(out, un...)
	out = append(out, amount...)
	out = append(out, currency...)
	return append(out, cardAuthData...)
}

// VerifyFDDA verifies a Visa fDDA signature (tag 9F4B from the GPO
// response) over FDDAData(un, amount, currency, cardAuthData) and returns
// the ICC Dynamic Number. un must be 4 bytes, and with cardAuthData present
// amount 6 bytes and currency 2 bytes.
func VerifyFDDA(icc PublicKey, sdad []byte, un, amount, currency, cardAuthData []byte) ([]byte, error) {
	if len(un) != 4 {
		return nil, fail(StepDDA, ErrInput, "unpredictable number is %d bytes, want 4", len(un))
	}
	if len(cardAuthData) != 0 && (len(amount) != 6 || len(currency) != 2) {
		return nil, fail(StepDDA, ErrInput, "amount %d bytes, currency %d bytes: want 6 and 2", len(amount), len(currency))
	}
	return VerifyDDA(icc, sdad, FDDAData(un, amount, currency, cardAuthData))
}

// TransactionDataHash is the CDA transaction data hash code: SHA-1 over the
// PDOL data, the CDOL data of this GENERATE AC, and the TLV data objects of
// the GENERATE AC response (format 2 template contents) except 9F4B, in the
// order the card sent them.
func TransactionDataHash(pdolData, cdolData, genACResponse []byte) [20]byte {
	return sha1Of(pdolData, cdolData, genACResponse)
}

// VerifyCDA verifies the Signed Dynamic Application Data of a GENERATE AC
// response under CDA (EMV Book 2 section 6.6): the signature over the
// unpredictable number un (9F37), the CID it signs against cid (9F27 of the
// response), and the transaction data hash code against
// TransactionDataHash(pdolData, cdolData, genACResponse), where
// genACResponse is the response template's TLV objects without 9F4B. It
// returns the application cryptogram (8 bytes) and the ICC Dynamic Number.
func VerifyCDA(icc PublicKey, sdad []byte, un []byte, cid byte, pdolData, cdolData, genACResponse []byte) (cryptogram []byte, iccDynamicNumber []byte, err error) {
	const step = StepCDA
	if len(un) != 4 {
		return nil, nil, fail(step, ErrInput, "unpredictable number is %d bytes, want 4", len(un))
	}
	dyn, ce := verifySDAD(step, icc, sdad, un)
	if ce != nil {
		return nil, nil, ce
	}
	num, ce := dynamicNumber(step, dyn)
	if ce != nil {
		return nil, nil, ce
	}
	rest := dyn[1+len(num):]
	if len(rest) < 1+8+sha1.Size {
		return nil, nil, fail(step, ErrDynamicData, "ICC dynamic data is %d bytes, too short for CID, AC and hash", len(dyn))
	}
	if rest[0] != cid {
		return nil, nil, fail(step, ErrCID, "signed CID %02X, response CID %02X", rest[0], cid)
	}
	ac := rest[1:9]
	want := TransactionDataHash(pdolData, cdolData, genACResponse)
	if !bytes.Equal(rest[9:9+sha1.Size], want[:]) {
		return nil, nil, fail(step, ErrTxnHash, "signed transaction data hash code differs from PDOL, CDOL1 and response data")
	}
	return bytes.Clone(ac), num, nil
}

// verifySDAD checks a format 05 signature and returns the ICC dynamic data.
func verifySDAD(step string, icc PublicKey, sdad, terminalData []byte) ([]byte, *CheckError) {
	b, ce := recoverData(icc, sdad, step)
	if ce != nil {
		return nil, ce
	}
	n := len(b)
	if n < 25 {
		return nil, fail(step, ErrLength, "is %d bytes, too short for the format", n)
	}
	if ce := frame(step, b, 0x05); ce != nil {
		return nil, ce
	}
	ldd := int(b[3])
	if ldd > n-25 {
		return nil, fail(step, ErrDynamicData, "ICC dynamic data length %d exceeds %d", ldd, n-25)
	}
	if sum := sha1Of(b[1:n-21], terminalData); !bytes.Equal(sum[:], b[n-21:n-1]) {
		return nil, fail(step, ErrHash, "hash result does not match the terminal dynamic data")
	}
	return b[4 : 4+ldd], nil
}

// frame checks trailer, header, format and the hash algorithm indicator of
// signed application data (byte 2).
func frame(step string, b []byte, format byte) *CheckError {
	n := len(b)
	switch {
	case b[n-1] != 0xBC:
		return fail(step, ErrTrailer, "recovered data trailer is %02X, want BC", b[n-1])
	case b[0] != 0x6A:
		return fail(step, ErrHeader, "recovered data header is %02X, want 6A", b[0])
	case b[1] != format:
		return fail(step, ErrFormat, "signed data format is %02X, want %02X", b[1], format)
	case b[2] != 0x01:
		return fail(step, ErrAlgorithm, "hash algorithm indicator is %02X, want 01 (SHA-1)", b[2])
	}
	return nil
}

// dynamicNumber extracts the ICC Dynamic Number (2-8 bytes, length-prefixed)
// from ICC dynamic data.
func dynamicNumber(step string, dyn []byte) ([]byte, *CheckError) {
	if len(dyn) < 1 {
		return nil, fail(step, ErrDynamicData, "ICC dynamic data is empty")
	}
	l := int(dyn[0])
	if l < 2 || l > 8 || 1+l > len(dyn) {
		return nil, fail(step, ErrDynamicData, "ICC dynamic number length %d in %d bytes of dynamic data", l, len(dyn))
	}
	return bytes.Clone(dyn[1 : 1+l]), nil
}
