// Package emv is the terminal's EMV contactless kernel: Entry Point (EMVCo
// Book B) with pre-processing, PPSE and combination selection, final
// selection and outcome processing; Kernel C-2 (Mastercard M/Chip), Kernel
// C-3 (Visa qVSDC), Kernel C-7 (UnionPay qPBOC) and a generic path for the
// other schemes of the AID list; offline data authentication through
// emv/oda; CVM and terminal risk management.
//
// The kernel talks to the card only through the Card interface declared
// here, so a PC/SC reader, a dongle, a software card (emv/cardsim) and a
// replayed recording (reader/trace) all drive the same code. It does not log:
// what happened is in the Result.
package emv
