// Package scan turns what a terminal's QR inputs produce into code texts:
// frames from V4L2 cameras, image files and folders, MJPEG over HTTP (IP
// cameras) and stdin are decoded with gozxing (a ladder of attempts inside
// a per-frame time budget); serial barcode scanners, which decode
// themselves, send text lines. A Scanner keeps only the latest frame when
// decoding falls behind and does not report the same code twice within a
// window. The texts are hostile input for package qr to classify; this
// package does not interpret them and does not log.
package scan
