package javaclass

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fixtures are the jars and NARs the config model's tests check against
// Pulsar 4.0.8, with what Java read from them.
var fixtures = filepath.Join("..", "functionconfig", "testdata", "connectors")

// TestConfigFieldDefinitionsMatchJava compares the config field definitions
// read from class files with ConnectorUtils.getConnectorConfigDefinition's.
func TestConfigFieldDefinitionsMatchJava(t *testing.T) {
	got, err := FieldDefinitions(filepath.Join(fixtures, "java", "testconn.nar"), "conn.SourceConfig")
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(fixtures, "fields_java.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(gotJSON, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("field definitions\n got: %s\nwant: %s", gotJSON, want)
	}
	if _, err := FieldDefinitions(filepath.Join(fixtures, "java", "testconn.nar"), "conn.Missing"); err == nil {
		t.Error("a missing config class gave no error")
	}
}
