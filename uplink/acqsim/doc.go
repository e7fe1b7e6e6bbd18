// Package acqsim is an acquirer host simulator speaking the uplink's ISO
// 8583 over mutual TLS, for demos, tests and load.
//
// It approves by default; a rules file declines by amount, PAN range or MCC,
// sets response codes and delays, and injects faults (down, delay, dropping
// the connection before or after reading, garbage and malformed responses,
// closing after N messages), per run or per rule. It verifies ARQCs with
// issuer master keys matching emv/cardsim (perso.TestMasterKey by default)
// and returns an ARPC in field 55.
//
// Every accepted financial message is appended to an fsync'd JSON-lines
// journal before it is answered (group commit). The same advice, reversal or
// request twice is acknowledged, marked duplicate, and never counted twice;
// Totals sums a journal. Load runs a fleet of uplink clients against a
// server. InitCerts writes a CA with server and client certificates.
package acqsim
