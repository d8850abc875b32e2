package lineproto

import "testing"

func TestEscapes(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{string(AppendMeasurement(nil, `my m,x=1\`)), `my\ m\,x=1\\`},
		{string(AppendKey(nil, `a b,c=d\`)), `a\ b\,c\=d\\`},
		{Quote(`say "hi" \ bye, x=1`), `"say \"hi\" \\ bye, x=1"`},
	} {
		if c.got != c.want {
			t.Errorf("%s, want %s", c.got, c.want)
		}
	}
}
