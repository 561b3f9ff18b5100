// Package notes words what a command tells its user about many items at
// once: one line for a kind of thing, not one per tensor or layer.
package notes

import (
	"fmt"
	"strings"
)

// shown is how many names a summary spells out before counting the rest.
const shown = 2

// Names lists the first names and counts the others: "a", "a and b",
// "a, b and 3 more".
func Names(names []string) string {
	switch {
	case len(names) == 0:
		return ""
	case len(names) == 1:
		return names[0]
	case len(names) <= shown:
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:shown], ", "), len(names)-shown)
}
