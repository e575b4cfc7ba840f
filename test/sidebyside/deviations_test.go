package sidebyside

import (
	"fmt"
	"strings"
)

// deviation is a difference from the Java worker we intend, with its reason
// and a check that the two results differ in exactly that way.
type deviation struct {
	reason string
	check  func(java, ours result) error
}

// deviations are the steps where our worker deliberately answers otherwise
// than the Java worker of the pinned distribution. README's "Deviations from
// the Java worker" lists the same, for operators. A listed step whose
// results become equal fails the test too: the list is kept exact.
var deviations = map[string]deviation{
	// A custom SerDe whose type does not fit the function's: the Java
	// worker loads both classes and refuses the function; ours does not
	// check the SerDe against the function's type, so the function is
	// created (and then deleted) and the mismatch shows only when its
	// instance starts.
	"config/java-custom-serde/create": serdeUnchecked(func(java, ours result) error {
		if java.code == 0 || !strings.Contains(java.out, "Serializer type mismatch java.lang.String vs org.apache.pulsar.functions.api.examples.CustomBaseObject") {
			return fmt.Errorf("java should refuse the SerDe")
		}
		if ours.code != 0 {
			return fmt.Errorf("ours should create it")
		}
		return nil
	}),
	"config/java-custom-serde/get": serdeUnchecked(func(java, ours result) error {
		if java.code == 0 || ours.code != 0 || !strings.Contains(ours.out, "CustomBaseSerde") {
			return fmt.Errorf("java should not have it, ours should")
		}
		return nil
	}),
	"config/java-custom-serde/delete": serdeUnchecked(func(java, ours result) error {
		if java.code != 404 || ours.code != 204 {
			return fmt.Errorf("java should not have it (404), ours should delete it (204)")
		}
		return nil
	}),
	"functions/trigger-file": {
		reason: "the Java worker triggers with an empty value when given --trigger-file (it reads the file part of the form only when --trigger-value is absent and then sends nothing); ours sends the file's content",
		check: func(java, ours result) error {
			if java.code != 0 || ours.code != 0 {
				return fmt.Errorf("both should succeed: java %d, ours %d", java.code, ours.code)
			}
			if !strings.Contains(ours.out, "from-a-file!") {
				return fmt.Errorf("ours should answer the file's content with the exclamation mark")
			}
			if strings.Contains(java.out, "from-a-file") {
				return fmt.Errorf("java now delivers the file's content")
			}
			return nil
		},
	},
	"functions/download-missing-path": {
		reason: "the Java worker answers a download of a package that does not exist with an empty body, and pulsar-admin then says \"Downloaded successfully\" and keeps a 0-byte file; ours answers 404 with a reason, so pulsar-admin fails",
		check: func(java, ours result) error {
			if java.code != 0 || !strings.Contains(java.effect, "0 bytes") {
				return fmt.Errorf("java should succeed with an empty file")
			}
			if ours.code == 0 || !strings.Contains(ours.out, "404") {
				return fmt.Errorf("ours should fail with 404")
			}
			return nil
		},
	},
}

func serdeUnchecked(check func(java, ours result) error) deviation {
	return deviation{
		reason: "a custom SerDe is not checked against the function's input type at create (the Java worker loads both classes and refuses a mismatch); the mismatch shows when the instance starts",
		check:  check,
	}
}
