package check

import "fmt"

// Quorum is a virtual server's quorum rule: quorum [1] and hysteresis [0]. The engine
// keeps the current state (up or not) and calls Next whenever the live weight changes;
// on a transition it runs quorum_up/quorum_down and switches to or from the
// sorry_server.
type Quorum struct {
	Quorum     int
	Hysteresis int
}

// Validate reports values keepalived rejects.
func (q Quorum) Validate() error {
	if q.Quorum < 1 {
		return fmt.Errorf("quorum %d: must be 1 or more", q.Quorum)
	}
	if q.Hysteresis < 0 || q.Hysteresis >= q.Quorum {
		return fmt.Errorf("hysteresis %d: must be 0..quorum-1 (%d)", q.Hysteresis, q.Quorum-1)
	}
	return nil
}

// Initial is the state at start-up: up when live ≥ quorum + hysteresis.
func (q Quorum) Initial(live int) bool { return live >= q.Quorum+q.Hysteresis }

// Next is the state after the live weight became live: while up it is lost when live
// drops below quorum − hysteresis (or to 0); while down it is gained when live reaches
// quorum + hysteresis. changed reports a transition.
func (q Quorum) Next(up bool, live int) (now, changed bool) {
	if up {
		if live < q.Quorum-q.Hysteresis || live == 0 {
			return false, true
		}
		return true, false
	}
	if live >= q.Quorum+q.Hysteresis {
		return true, true
	}
	return false, false
}

// LiveWeight is Σ weights of the alive real servers, the quantity quorum compares
// against. weights holds each alive server's effective weight.
func LiveWeight(weights ...int) int {
	sum := 0
	for _, w := range weights {
		sum += w
	}
	return sum
}

// SorryActive says whether the sorry server should replace the real servers: when
// there is one and quorum is lost.
func SorryActive(quorumUp, haveSorry bool) bool { return haveSorry && !quorumUp }
