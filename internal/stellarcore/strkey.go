package stellarcore

import (
	"crypto/ed25519"
	"errors"

	"github.com/stellar-k8s/stellar-operator/internal/strkey"
)

// stellar-core refuses a key that does not decode as a strkey ("bad public key"), so the operator
// checks them the same way before any pod sees them.
const (
	versionPublicKey = strkey.VersionPublicKey
	versionSeed      = strkey.VersionSeed
)

// ValidPublicKey reports whether s is a well-formed G... public key.
func ValidPublicKey(s string) bool {
	_, err := strkey.Decode(versionPublicKey, s)
	return err == nil
}

// PublicKeyOfSeed is the G... public key of an S... seed. The seed is neither kept nor put in any error.
func PublicKeyOfSeed(seed string) (string, error) {
	raw, err := strkey.Decode(versionSeed, seed)
	if err != nil {
		return "", errors.New("the seed is not a valid S... strkey")
	}
	pub := ed25519.NewKeyFromSeed(raw).Public().(ed25519.PublicKey)
	return strkey.Encode(versionPublicKey, pub), nil
}
