package dbusapi

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that Stop ends the service's goroutines, the reconnecting one
// included.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
