package stellarcore

import (
	"crypto/ed25519"
	"encoding/base32"
	"encoding/binary"
	"errors"
)

// Stellar keys are written as strkeys (SEP-23): a version byte, the 32-byte key and a CRC16-XModem
// checksum, base32-encoded. stellar-core refuses a key that does not decode ("bad public key"), so the
// operator checks them the same way before any pod sees them.
const (
	versionPublicKey byte = 6 << 3  // "G..."
	versionSeed      byte = 18 << 3 // "S..."
	strkeyLen             = 56
)

var errBadStrkey = errors.New("not a valid strkey")

// ValidPublicKey reports whether s is a well-formed G... public key.
func ValidPublicKey(s string) bool {
	_, err := decodeStrkey(versionPublicKey, s)
	return err == nil
}

// PublicKeyOfSeed is the G... public key of an S... seed. The seed is neither kept nor put in any error.
func PublicKeyOfSeed(seed string) (string, error) {
	raw, err := decodeStrkey(versionSeed, seed)
	if err != nil {
		return "", errors.New("the seed is not a valid S... strkey")
	}
	pub := ed25519.NewKeyFromSeed(raw).Public().(ed25519.PublicKey)
	return encodeStrkey(versionPublicKey, pub), nil
}

func decodeStrkey(version byte, s string) ([]byte, error) {
	if len(s) != strkeyLen {
		return nil, errBadStrkey
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil || len(raw) != 35 || raw[0] != version {
		return nil, errBadStrkey
	}
	body, sum := raw[:33], binary.LittleEndian.Uint16(raw[33:])
	if crc16XModem(body) != sum {
		return nil, errBadStrkey
	}
	return body[1:], nil
}

func encodeStrkey(version byte, key []byte) string {
	raw := append([]byte{version}, key...)
	raw = binary.LittleEndian.AppendUint16(raw, crc16XModem(raw))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
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
