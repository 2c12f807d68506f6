// Package strkey reads and writes Stellar's strkeys (SEP-23): a version byte, the payload and a
// CRC16-XModem checksum, base32-encoded. It depends on nothing but the standard library, so every
// package (the fixtures of the tests too) can use it.
package strkey

import (
	"encoding/base32"
	"encoding/binary"
	"errors"
)

// Version bytes of the strkeys the operator reads.
const (
	VersionPublicKey byte = 6 << 3  // "G..."
	VersionSeed      byte = 18 << 3 // "S..."
	// Len is the length of a strkey of a 32-byte key.
	Len = 56
)

// ErrBad is a string that is not a strkey of the version asked for.
var ErrBad = errors.New("not a valid strkey")

var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Decode is the 32-byte payload of s, a strkey of version.
func Decode(version byte, s string) ([]byte, error) {
	if len(s) != Len {
		return nil, ErrBad
	}
	raw, err := encoding.DecodeString(s)
	if err != nil || len(raw) != 35 || raw[0] != version {
		return nil, ErrBad
	}
	body, sum := raw[:33], binary.LittleEndian.Uint16(raw[33:])
	if crc16XModem(body) != sum {
		return nil, ErrBad
	}
	return body[1:], nil
}

// Encode is the strkey of version for payload.
func Encode(version byte, payload []byte) string {
	raw := append([]byte{version}, payload...)
	raw = binary.LittleEndian.AppendUint16(raw, crc16XModem(raw))
	return encoding.EncodeToString(raw)
}

func crc16XModem(data []byte) uint16 {
	var crc uint16
	for _, b := range data {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
