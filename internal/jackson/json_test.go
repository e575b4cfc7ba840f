package jackson

import "testing"

func TestJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 0.5: "0.5", 1.2345678901e10: "1.2345678901E10", 1e7: "1.0E7", 9999999: "9999999.0",
		0.001: "0.001", 0.0001: "1.0E-4", -2.5: "-2.5", 0: "0.0", 123456.789: "123456.789", 1e21: "1.0E21",
	} {
		if got := JavaDouble(f); got != want {
			t.Errorf("javaDouble(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestGsonJSON(t *testing.T) {
	v, _ := DecodeValue([]byte(`{"s":"a<b>&='c'\n\u2028","n":null,"i":1,"f":1.0,"e":1e3,"l":[1,null,"x"],"m":{"z":{}}}`))
	got := GsonJSON(Numbers(v))
	want := `{"e":1000.0,"f":1.0,"i":1,"l":[1,null,"x"],"m":{"z":{}},"s":"a\u003cb\u003e\u0026\u003d\u0027c\u0027\n\u2028"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
