// @generated from promtool 2.42 (`promtool test rules` prints the annotations it got);
// regenerate when Prometheus's behaviour is meant to change. Shared by the unit tests
// (src/model/template/exec_tests.rs) and tests/template_promtool.rs.

/// External labels of the test group.
pub const EXTERNAL_LABELS: &[(&str, &str)] = &[("region", "eu-west"), ("replica", "r1")];
/// External URL of the test group.
pub const EXTERNAL_URL: &str = "https://prom.example.com/prometheus";

/// An alert's input: the sample value (promtool notation and as f64) and labels.
pub struct Scenario {
    /// The value as written in promtool's `values:`.
    pub promtool_value: &'static str,
    /// The same value.
    pub value: f64,
    /// The series labels, without `__name__` (the metric is `s<index>`).
    pub labels: &'static [(&'static str, &'static str)],
}

/// Alert inputs; case `scenario` indexes this.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        promtool_value: "1000000",
        value: 1000000.0,
        labels: &[
            ("job", "api"),
            ("instance", "host-1.example.com:9090"),
            ("severity", "critical"),
        ],
    },
    Scenario {
        promtool_value: "0.1",
        value: 0.1,
        labels: &[
            ("job", "node"),
            ("instance", "10.0.0.1:9100"),
            ("path", "/a b/\"q\""),
            ("uni", "héllo wörld"),
        ],
    },
    Scenario {
        promtool_value: "0",
        value: 0.0,
        labels: &[("job", "zero")],
    },
    Scenario {
        promtool_value: "NaN",
        value: f64::NAN,
        labels: &[("job", "nan")],
    },
    Scenario {
        promtool_value: "Inf",
        value: f64::INFINITY,
        labels: &[("job", "inf")],
    },
    Scenario {
        promtool_value: "-Inf",
        value: f64::NEG_INFINITY,
        labels: &[("job", "ninf")],
    },
    Scenario {
        promtool_value: "-1.5",
        value: -1.5,
        labels: &[("job", "neg")],
    },
    Scenario {
        promtool_value: "123456789.123",
        value: 123456789.123,
        labels: &[("job", "big")],
    },
    Scenario {
        promtool_value: "1e-07",
        value: 1e-07,
        labels: &[("job", "tiny")],
    },
    Scenario {
        promtool_value: "93600",
        value: 93600.0,
        labels: &[("job", "dur")],
    },
    Scenario {
        promtool_value: "1700000000",
        value: 1700000000.0,
        labels: &[("job", "ts")],
    },
    Scenario {
        promtool_value: "1e21",
        value: 1e21,
        labels: &[("job", "huge")],
    },
    Scenario {
        promtool_value: "123456",
        value: 123456.0,
        labels: &[("job", "six")],
    },
    Scenario {
        promtool_value: "5e-324",
        value: 5e-324,
        labels: &[("job", "denormal")],
    },
    Scenario {
        promtool_value: "1.7976931348623157e308",
        value: 1.7976931348623157e308,
        labels: &[("job", "max")],
    },
    Scenario {
        promtool_value: "-0",
        value: -0.0,
        labels: &[("job", "negzero")],
    },
    Scenario {
        promtool_value: "0.0001",
        value: 0.0001,
        labels: &[("job", "e4")],
    },
    Scenario {
        promtool_value: "100",
        value: 100.0,
        labels: &[("job", "hundred")],
    },
    Scenario {
        promtool_value: "2.5",
        value: 2.5,
        labels: &[("job", "half")],
    },
    Scenario {
        promtool_value: "99.99999",
        value: 99.99999,
        labels: &[("job", "nines")],
    },
    Scenario {
        promtool_value: "1024",
        value: 1024.0,
        labels: &[("job", "kibi")],
    },
    Scenario {
        promtool_value: "0.000123",
        value: 0.000123,
        labels: &[("job", "micro")],
    },
    Scenario {
        promtool_value: "-1234567",
        value: -1234567.0,
        labels: &[("job", "negbig")],
    },
    Scenario {
        promtool_value: "12345.678",
        value: 12345.678,
        labels: &[("job", "mixed")],
    },
    Scenario {
        promtool_value: "1.005",
        value: 1.005,
        labels: &[("job", "tie")],
    },
    Scenario {
        promtool_value: "0.5",
        value: 0.5,
        labels: &[("job", "pointfive")],
    },
    Scenario {
        promtool_value: "59.9999",
        value: 59.9999,
        labels: &[("job", "almostmin")],
    },
    Scenario {
        promtool_value: "3600",
        value: 3600.0,
        labels: &[("job", "hour")],
    },
    Scenario {
        promtool_value: "1e100",
        value: 1e100,
        labels: &[("job", "googol")],
    },
    Scenario {
        promtool_value: "0.999",
        value: 0.999,
        labels: &[("job", "lt1")],
    },
];

/// Extra series the `query` cases read: (series in promtool notation, value).
pub const QUERY_SERIES: &[(&str, &str)] = &[
    ("q_up{instance=\"a:9100\",job=\"node\"}", "0"),
    ("q_up{instance=\"b:9100\",job=\"node\"}", "1"),
    ("q_up{instance=\"c:9100\",job=\"api\"}", "1"),
    ("q_one{instance=\"x:1\",job=\"single\"}", "42.5"),
    ("q_str{__value__=\"hello\",a=\"x\"}", "1"),
];

/// (scenario, template, what Prometheus 2.42 expands it to).
pub const CASES: &[(usize, &str, &str)] = &[
    (
        0,
        "{{ $labels.job }}/{{ $labels.instance }}/{{ .Labels.severity }}/{{ $labels.missing }}|",
        "api/host-1.example.com:9090/critical/|",
    ),
    (
        0,
        "{{ $externalLabels.region }}|{{ $externalURL }}|{{ .ExternalURL }}|{{ .ExternalLabels }}",
        "eu-west|https://prom.example.com/prometheus|https://prom.example.com/prometheus|map[region:eu-west replica:r1]",
    ),
    (
        0,
        "{{ $ }}",
        "{map[__name__:s0 instance:host-1.example.com:9090 job:api severity:critical] map[region:eu-west replica:r1] https://prom.example.com/prometheus 1e+06}",
    ),
    (
        0,
        "{{ .Labels }}|{{ $labels }}|{{ index $labels \"job\" }}|{{ index .Labels \"nope\" }}|",
        "map[__name__:s0 instance:host-1.example.com:9090 job:api severity:critical]|map[__name__:s0 instance:host-1.example.com:9090 job:api severity:critical]|api||",
    ),
    (
        0,
        "{{ $x := 1 }}{{ $x = 2 }}{{ $x }}|{{ $y := $labels.job }}{{ $y }}",
        "2|api",
    ),
    (
        0,
        "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}",
        "2",
    ),
    (
        0,
        "{{ $x := 0 }}{{ range $x = $labels }}{{ end }}{{ $x }}|{{ $value }}",
        "critical|1e+06",
    ),
    (
        0,
        "{{ with $labels.nope }}x{{ else }}y{{ end }}|{{ with $labels.job }}[{{ . }}]{{ end }}|{{ with $ }}{{ .Value }}{{ end }}",
        "y|[api]|1e+06",
    ),
    (
        0,
        "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
        "__name__=s0;instance=host-1.example.com:9090;job=api;severity=critical;",
    ),
    (
        0,
        "{{ range $labels }}{{ . }},{{ end }}|{{ range $i, $e := $externalLabels }}{{ $i }}{{ end }}",
        "s0,host-1.example.com:9090,api,critical,|regionreplica",
    ),
    (
        0,
        "{{ range $labels }}{{ if eq . \"critical\" }}{{ break }}{{ end }}{{ . }};{{ end }}|{{ range $labels }}{{ if eq . \"api\" }}{{ continue }}{{ end }}{{ . }};{{ end }}",
        "s0;host-1.example.com:9090;api;|s0;host-1.example.com:9090;critical;",
    ),
    (
        0,
        "{{ range $externalLabels }}{{ else }}none{{ end }}|{{ range .Labels.nope }}x{{ else }}empty{{ end }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:179: executing \"__alert_S0\" at <.Labels.nope>: range can't iterate over >",
    ),
    (
        0,
        "{{- /* comment */ -}} trimmed {{- \" x \" -}} |  {{- $labels.job }}  ",
        "trimmed x |api  ",
    ),
    (
        0,
        "line one\nline two {{ $labels.job }}\n{{ \"end\" }}",
        "line one\nline two api\nend",
    ),
    (
        0,
        "{{ if and (eq $labels.job \"api\") (gt $value 5.0) }}big{{ else if eq $labels.job \"api\" }}small{{ end }}",
        "big",
    ),
    (
        0,
        "{{ if or (eq $labels.job \"x\") (eq $labels.job \"api\") }}yes{{ end }}|{{ and 1 0 }}|{{ or 0 \"\" }}|{{ and 1 2 }}|{{ or 0 3 }}|{{ not 0 }}|{{ not \"\" }}|{{ and 1 \"\" 3 }}",
        "yes|0||2|3|true|true|",
    ),
    (
        0,
        "{{ eq \"a\" \"b\" \"a\" }}|{{ ne 1 2 }}|{{ lt 1.5 2.0 }}|{{ le 2 2 }}|{{ gt \"b\" \"a\" }}|{{ ge 1 2 }}|{{ eq true true }}|{{ eq nil nil }}|{{ eq 1 nil }}",
        "true|true|true|true|true|false|true|true|false",
    ),
    (
        0,
        "{{ eq .Value 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <eq .Value 1>: error calling eq: incompatible types for comparison>",
    ),
    (
        0,
        "{{ lt 1 2.0 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <lt 1 2.0>: error calling lt: incompatible types for comparison>",
    ),
    (
        0,
        "{{ lt true false }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <lt true false>: error calling lt: invalid type for comparison>",
    ),
    (
        0,
        "{{ eq 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <eq 1>: error calling eq: missing argument for comparison>",
    ),
    (
        0,
        "{{ eq .Labels .Labels }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <eq .Labels .Labels>: error calling eq: non-comparable type map[__name__:s0 instance:host-1.example.com:9090 job:api severity:critical]: map[string]string>",
    ),
    (
        0,
        "{{ lt nil 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <lt nil 1>: error calling lt: invalid type for comparison>",
    ),
    (
        0,
        "{{ eq (index \"a\" 0) 97 }}|{{ lt (index \"a\" 0) 98 }}|{{ eq 1 (index \"a\" 0) }}|{{ eq \"a\" (safeHtml \"a\") }}",
        "true|true|false|true",
    ),
    (
        0,
        "{{ 1e3 }} {{ 0x10 }} {{ 'a' }} {{ 1.0 }} {{ 1i }} {{ 1e100 }} {{ -0.0 }} {{ 0x1p-2 }} {{ 1_000 }} {{ 0o17 }} {{ 0b101 }} {{ 2.50 }}",
        "1000 16 97 1 (0+1i) 1e+100 -0 0.25 1000 15 5 2.5",
    ),
    (
        0,
        "{{ 18446744073709551615 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <18446744073709551615>: 18446744073709551615 overflows int>",
    ),
    (
        0,
        "{{ true }} {{ false }} {{ \"s\" }} {{ `raw\\n` }} {{ \"esc\\t\\u00e9\" }}",
        "true false s raw\\n esc\té",
    ),
    (
        0,
        "{{ printf \"%05s|%-5s|%5.2s|%x|% x|%#x|%X|%q|%+q|%#q\" \"ab\" \"ab\" \"abc\" \"hi\" \"hi\" \"hi\" \"hi\" \"é\\n\" \"é\" \"a`b\" }}",
        "000ab|ab   |   ab|6869|68 69|0x6869|6869|\"é\\n\"|\"\\u00e9\"|\"a`b\"",
    ),
    (
        0,
        "{{ printf \"%F|%e|%E|%g|%G|%.3g|%#g|%b|%x|%X|%.2x\" 1.5 1.5 1.5 1.5e21 1.5 1234.5678 1.0 1.0 1.0 1.0 3.0 }}",
        "1.500000|1.500000e+00|1.500000E+00|1.5e+21|1.5|1.23e+03|1.00000|4503599627370496p-52|0x1p+00|0X1P+00|0x1.80p+01",
    ),
    (
        0,
        "{{ printf \"%d\" }}|{{ printf \"%d %!\" 1 2 3 }}|{{ printf \"%[2]d %[1]d\" 1 2 }}|{{ printf \"%*d|%-*d|%.*f\" 5 1 4 2 2 3.14159 }}|{{ printf \"%[3]d\" 1 }}|{{ printf \"%\" }}|{{ printf \"%z\" 1 }}",
        "%!d(MISSING)|1 %!!(int=2)%!(EXTRA int=3)|2 1|    1|2   |3.14|%!d(BADINDEX)|%!(NOVERB)|%!z(int=1)",
    ),
    (
        0,
        "{{ printf \"%6.2f|%-8.3e|%+d|% d|%08.3f|%x|%X|%o|%O|%b|%#o|%#b|%+.2e\" 3.14159 1234.5 5 5 -3.14159 255 255 8 8 5 8 5 12345.678 }}",
        "  3.14|1.234e+03|+5| 5|-003.142|ff|FF|10|0o10|101|010|0b101|+1.23e+04",
    ),
    (
        0,
        "{{ printf \"%q %v %d %c %U %x\" 'x' 'x' 'x' 'x' 'x' 'x' }}",
        "'x' 120 120 x U+0078 78",
    ),
    (
        0,
        "{{ printf \"%c|%c|%q|%U|%#U\" 65 0x1F600 0x1F600 0x1F600 0x1F600 }}",
        "A|😀|'😀'|U+1F600|U+1F600 '😀'",
    ),
    (
        0,
        "{{ printf \"%3c|%-4q|%08d|%-08d|%+08d|%.5d|%8.5d|%x|%x\" 65 66 -42 42 42 42 -42 -255 3.5 }}",
        "  A|'B' |-0000042|42      |+0000042|00042|  -00042|-ff|0x1.cp+01",
    ),
    (
        0,
        "{{ printf \"%e|%.0e|%#.0e|%#.0f|%.0f|%+.1e|%g|%g|%g|%g\" 0.0 5.0 5.0 5.0 0.5 -1.25 100000.0 1000000.0 0.0001 0.00001 }}",
        "0.000000e+00|5e+00|5.e+00|5.|0|-1.2e+00|100000|1e+06|0.0001|1e-05",
    ),
    (
        0,
        "{{ printf \"%5t|%v|%q\" true false true }}",
        " true|false|%!q(bool=true)",
    ),
    (
        0,
        "{{ printf \"%x|%X|% X|%#x|%.1x\" \"hello\" \"hi\" \"hi\" \"\" \"hi\" }}",
        "68656c6c6f|6869|68 69||68",
    ),
    (
        0,
        "{{ printf \"%s\" .Labels }}|{{ printf \"%d\" .ExternalLabels }}",
        "map[__name__:s0 instance:host-1.example.com:9090 job:api severity:critical]|map[%!d(string=region):%!d(string=eu-west) %!d(string=replica):%!d(string=r1)]",
    ),
    (
        0,
        "{{ printf \"%+v\" $ }}",
        "{Labels:map[__name__:s0 instance:host-1.example.com:9090 job:api severity:critical] ExternalLabels:map[region:eu-west replica:r1] ExternalURL:https://prom.example.com/prometheus Value:1e+06}",
    ),
    (
        0,
        "{{ printf \"%#v\" .Labels }}|{{ printf \"%#v\" \"q\" }}|{{ printf \"%#v\" 1.0 }}|{{ printf \"%#v\" 3 }}",
        "map[string]string{\"__name__\":\"s0\", \"instance\":\"host-1.example.com:9090\", \"job\":\"api\", \"severity\":\"critical\"}|\"q\"|1|3",
    ),
    (
        0,
        "{{ printf \"%T %T %T %T %T %T %T\" $ .Value .Labels (safeHtml \"x\") (args 1) 1 \"s\" }}",
        "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 } float64 map[string]string template.HTML map[string]interface {} int string",
    ),
    (
        0,
        "{{ printf \"%v\" nil }}|{{ printf \"%d\" nil }}|{{ printf \"%s\" (args).x }}",
        "<nil>|%!d(<nil>)|%!s(<nil>)",
    ),
    (
        0,
        "{{ printf \"%v|%s|%d\" (args 1 \"a\" 2.5) (args \"x\") (args 7) }}",
        "map[arg0:1 arg1:a arg2:2.5]|map[arg0:x]|map[%!d(string=arg0):7]",
    ),
    (
        0,
        "{{ printf \"%.2f %.1f %.0f %.3e %.2f\" 1.005 0.25 2.5 1.0005 2.675 }}",
        "1.00 0.2 2 1.000e+00 2.67",
    ),
    (
        0,
        "{{ printf \"%010.3f|%-10.3f|%+10.3f|% .3f|%+.0f|%10s|%-10s|\" -3.14159 3.14159 3.14159 3.14159 2.5 \"r\" \"l\" }}",
        "-00003.142|3.142     |    +3.142| 3.142|+2|         r|l         |",
    ),
    (
        0,
        "{{ printf \"%6.2v|%.3v|%10v|%-10v|\" 3.14159 \"abcdef\" 42 true }}",
        "   3.1|abc|        42|true      |",
    ),
    (
        0,
        "{{ print 1 2 \"a\" \"b\" 3 }}|{{ println 1 \"a\" }}|{{ print }}|{{ print nil }}|{{ print 1.5 true }}",
        "1 2ab3|1 a\n||<nil>|1.5 true",
    ),
    (
        0,
        "{{ 1 | printf \"%d %d\" 2 }}|{{ \"a\" | len }}|{{ \"a\" | printf \"%s\" | printf \"%s%s\" \"b\" }}",
        "2 1|1|ba",
    ),
    (
        0,
        "{{ $value | printf \"%.2f\" }}|{{ printf \"%.2f\" $value | len }}|{{ $labels.job | printf \"%s-%s\" \"a\" }}",
        "1000000.00|10|a-api",
    ),
    (
        0,
        "{{ js \"<a href='x'>&=\\\\ \\u0001é\" }}|{{ js 1 2 }}",
        "\\u003Ca href\\u003D\\'x\\'\\u003E\\u0026\\u003D\\\\ \\u0001é|1 2",
    ),
    (
        0,
        "{{ html \"<a>\" 1 }}|{{ html \"'\\\"&\" }}|{{ html nil }}|{{ urlquery \"a b&c=d/é~\" }}|{{ urlquery 1 \"x\" }}",
        "&lt;a&gt;1|&#39;&#34;&amp;|&lt;no value&gt;|a+b%26c%3Dd%2F%C3%A9~|1x",
    ),
    (
        0,
        "{{ index (args 1) \"arg0\" }}|{{ index \"abc\" 1 }}|{{ index $labels }}|{{ index (args 1) \"zz\" }}|{{ index (args (args 5)) \"arg0\" \"arg0\" }}",
        "1|98|map[__name__:s0 instance:host-1.example.com:9090 job:api severity:critical]|<no value>|5",
    ),
    (
        0,
        "{{ index \"abc\" 3 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <index \"abc\" 3>: error calling index: reflect: string index out of range>",
    ),
    (
        0,
        "{{ index \"abc\" 4 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <index \"abc\" 4>: error calling index: index out of range: 4>",
    ),
    (
        0,
        "{{ index .Labels 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <index .Labels 1>: error calling index: value has type int; should be string>",
    ),
    (
        0,
        "{{ index nil 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <index nil 1>: error calling index: index of untyped nil>",
    ),
    (
        0,
        "{{ index 5 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <index 5 1>: error calling index: can't index item of type int>",
    ),
    (
        0,
        "{{ slice \"abcdef\" 1 3 }}|{{ slice \"abcdef\" 2 }}|{{ slice \"abcdef\" }}|{{ slice \"abc\" 3 }}",
        "bc|cdef|abcdef|",
    ),
    (
        0,
        "{{ slice \"abc\" 2 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <slice \"abc\" 2 1>: error calling slice: invalid slice index: 2 > 1>",
    ),
    (
        0,
        "{{ slice \"abc\" 1 2 3 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <slice \"abc\" 1 2 3>: error calling slice: cannot 3-index slice a string>",
    ),
    (
        0,
        "{{ slice 5 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <slice 5 1>: error calling slice: can't slice item of type int>",
    ),
    (
        0,
        "{{ len $labels }} {{ len \"héllo\" }} {{ len (args 1 2) }}",
        "4 6 2",
    ),
    (
        0,
        "{{ len 3 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <len 3>: error calling len: len of type int>",
    ),
    (
        0,
        "{{ len nil }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <len nil>: error calling len: reflect: call of reflect.Value.Type on zero Value>",
    ),
    (
        0,
        "{{ len (args).x }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <len (args).x>: error calling len: len of nil pointer>",
    ),
    (
        0,
        "{{ call 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <call 1>: error calling call: non-function of type int>",
    ),
    (
        0,
        "{{ call nil }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <call nil>: error calling call: call of nil>",
    ),
    (
        0,
        "{{ .Labels.job.foo.bar.baz.qux.verylongname }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:122: executing \"__alert_S0\" at <.Labels.job.foo.bar.baz.qux.verylongname>: can't evaluate field foo in type string>",
    ),
    (
        0,
        "{{ .Value.X }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:121: executing \"__alert_S0\" at <.Value.X>: can't evaluate field X in type float64>",
    ),
    (
        0,
        "{{ $labels.job 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:122: executing \"__alert_S0\" at <$labels.job>: job is not a method but has arguments>",
    ),
    (
        0,
        "{{ .Labels 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <.Labels>: Labels has arguments but cannot be invoked as function>",
    ),
    (
        0,
        "{{ 1 2 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <1>: can't give argument to non-function 1>",
    ),
    (
        0,
        "{{ nil }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <nil>: nil is not a command>",
    ),
    (
        0,
        "{{ .Nope }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <.Nope>: can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }>",
    ),
    (
        0,
        "line1\n  {{ .Nope }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:2:5: executing \"__alert_S0\" at <.Nope>: can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }>",
    ),
    (
        0,
        "{{ $x := 1 }}{{ $x.Foo }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:130: executing \"__alert_S0\" at <$x.Foo>: can't evaluate field Foo in type int>",
    ),
    (
        0,
        "{{ (args).x.y }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:116: executing \"__alert_S0\" at <args>: nil pointer evaluating interface {}.y>",
    ),
    (
        0,
        "{{ $x := (args).x }}{{ $x.y }}|{{ $x }}",
        "<no value>|<no value>",
    ),
    (
        0,
        "{{ (1).X }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:116: executing \"__alert_S0\" at <1>: can't evaluate field X in type int>",
    ),
    (
        0,
        "{{ humanize.X }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <humanize>: wrong number of args for humanize: want 1 got 0>",
    ),
    (
        0,
        "{{ and }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <and>: wrong number of args for and: want at least 1 got 0>",
    ),
    (
        0,
        "{{ label \"a\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <label>: wrong number of args for label: want 2 got 1>",
    ),
    (
        0,
        "{{ toUpper (safeHtml \"x\") }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:133: executing \"__alert_S0\" at <\"x\">: wrong type for value; expected string; got template.HTML>",
    ),
    (
        0,
        "{{ toUpper (args).x }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:124: executing \"__alert_S0\" at <args>: wrong type for value; expected string; got interface {}>",
    ),
    (
        0,
        "{{ toUpper 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:123: executing \"__alert_S0\" at <1>: expected string; found 1>",
    ),
    (
        0,
        "{{ first 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:121: executing \"__alert_S0\" at <1>: can't handle 1 for arg of type template.queryResult>",
    ),
    (
        0,
        "{{ value nil }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <value nil>: error calling value: runtime error: invalid memory address or nil pointer dereference>",
    ),
    (
        0,
        "{{ range 5 }}{{ end }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:121: executing \"__alert_S0\" at <5>: range can't iterate over 5>",
    ),
    (
        0,
        "{{ range $value }}{{ end }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:121: executing \"__alert_S0\" at <$value>: range can't iterate over 1e+06>",
    ),
    (
        0,
        "{{ range $i, $e := $labels }}{{ $i }}{{ end }}|{{ range \"abc\" }}{{ end }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:168: executing \"__alert_S0\" at <\"abc\">: range can't iterate over abc>",
    ),
    (
        0,
        "{{ template \"x\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:124: executing \"__alert_S0\" at <{{template \"x\"}}>: template \"x\" not defined>",
    ),
    (
        0,
        "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:140: executing \"r\" at <{{template \"r\" .}}>: exceeded maximum template depth (100000)>",
    ),
    (
        0,
        "{{ define \"T\" }}{{ .Nope }}{{ end }}{{ template \"T\" . }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:131: executing \"T\" at <.Nope>: can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }>",
    ),
    (
        0,
        "{{ printf \"%d\" 1 | html | urlquery | js | printf \"%s %s\" \"abcdefghijklmnopqrstuvwxyz\" | toUpper | eq 5 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:210: executing \"__alert_S0\" at <eq 5>: error calling eq: incompatible types for comparison>",
    ),
    (
        0,
        "{{ if eq (printf \"%s\" $labels.job) \"api\" }}{{ humanize \"x\" }}{{ end }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:158: executing \"__alert_S0\" at <humanize \"x\">: error calling humanize: strconv.ParseFloat: parsing \"x\": invalid syntax>",
    ),
    (
        0,
        "{{ with $labels }}{{ .job }}{{ .nope.deeper }}{{ end }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:148: executing \"__alert_S0\" at <.nope.deeper>: can't evaluate field deeper in type string>",
    ),
    (
        0,
        "{{ range $k, $v := $labels }}{{ $v.x }}{{ end }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:146: executing \"__alert_S0\" at <$v.x>: can't evaluate field x in type string>",
    ),
    (
        0,
        "{{ define \"T\" }}[{{ . }}]{{ end }}{{ template \"T\" $value }}{{ template \"T\" }}{{ template \"T\" $labels.job }}",
        "[1e+06][<no value>][api]",
    ),
    (
        0,
        "{{ block \"B\" . }}{{ .Value }}{{ end }}|{{ block \"C\" \"x\" }}<{{ . }}>{{ end }}",
        "1e+06|<x>",
    ),
    (
        0,
        "{{ define \"L\" }}{{ range . }}{{ . }} {{ end }}{{ end }}{{ template \"L\" $labels }}",
        "s0 host-1.example.com:9090 api critical ",
    ),
    (
        0,
        "{{ define \"V\" }}{{ $ }}{{ end }}{{ template \"V\" 1.5 }}",
        "1.5",
    ),
    (
        0,
        "{{ humanize 1234567 }}|{{ humanize 0.000001234 }}|{{ humanize -1234 }}|{{ humanize 1e30 }}|{{ humanize \"2048\" }}|{{ humanize 0 }}",
        "1.235M|1.234u|-1.234k|1e+06Y|2.048k|0",
    ),
    (
        0,
        "{{ humanize1024 1048576 }}|{{ humanize1024 -2048 }}|{{ humanize1024 0.5 }}|{{ humanize1024 1 }}|{{ humanize1024 1e30 }}",
        "1Mi|-2ki|0.5|1|8.272e+05Yi",
    ),
    (
        0,
        "{{ humanizeDuration 93600 }}|{{ humanizeDuration 0.0012 }}|{{ humanizeDuration -90 }}|{{ humanizeDuration 3.5 }}|{{ humanizeDuration 172800.5 }}|{{ humanizeDuration 0.000000001 }}|{{ humanizeDuration 0 }}|{{ humanizeDuration \"60\" }}",
        "1d 2h 0m 0s|1.2ms|-1m 30s|3.5s|2d 0h 0m 0s|1ns|0s|1m 0s",
    ),
    (
        0,
        "{{ humanizePercentage 0.1234 }}|{{ humanizePercentage 1 }}|{{ humanizePercentage \"0.5\" }}",
        "12.34%|100%|50%",
    ),
    (
        0,
        "{{ humanizeTimestamp 1.7e9 }}|{{ humanizeTimestamp \"1.7e9\" }}|{{ humanizeTimestamp -1.5 }}|{{ humanizeTimestamp 0.0015 }}",
        "2023-11-14 22:13:20 +0000 UTC|2023-11-14 22:13:20 +0000 UTC|1969-12-31 23:59:58.5 +0000 UTC|1970-01-01 00:00:00.001 +0000 UTC",
    ),
    (
        0,
        "{{ humanize \"abc\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <humanize \"abc\">: error calling humanize: strconv.ParseFloat: parsing \"abc\": invalid syntax>",
    ),
    (
        0,
        "{{ humanize true }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <humanize true>: error calling humanize: can't convert bool to float>",
    ),
    (
        0,
        "{{ humanize (safeHtml \"1\") }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <humanize (safeHtml \"1\")>: error calling humanize: can't convert template.HTML to float>",
    ),
    (
        0,
        "{{ humanize (index \"a\" 0) }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <humanize (index \"a\" 0)>: error calling humanize: can't convert uint8 to float>",
    ),
    (
        0,
        "{{ humanizePercentage \"x\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <humanizePercentage \"x\">: error calling humanizePercentage: strconv.ParseFloat: parsing \"x\": invalid syntax>",
    ),
    (
        0,
        "{{ humanize \"1e400\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <humanize \"1e400\">: error calling humanize: strconv.ParseFloat: parsing \"1e400\": value out of range>",
    ),
    (
        0,
        "{{ humanize \"inf\" }}|{{ humanize \"-Infinity\" }}|{{ humanize \"NaN\" }}|{{ humanize \"1_000\" }}|{{ humanize \".5\" }}|{{ humanize \"0x10p0\" }}",
        "+Inf|-Inf|NaN|1k|500m|16",
    ),
    (
        0,
        "{{ toTime 1.7e9 }}|{{ toTime 0 }}|{{ (toTime 1.5).Unix }}|{{ (toTime 1.7e9).Month }}|{{ (toTime 1.7e9).Weekday }}|{{ (toTime 1.7e9).YearDay }}|{{ (toTime 1.7e9).Year }}",
        "2023-11-14 22:13:20 +0000 UTC|1970-01-01 00:00:00 +0000 UTC|1|November|Tuesday|318|2023",
    ),
    (
        0,
        "{{ (toTime 1.7e9).Format \"2006-01-02T15:04:05Z07:00\" }}|{{ (toTime 1700000000.123).Format \"Mon Jan _2 15:04:05.000 MST 2006\" }}|{{ (toTime 1.7e9).Format \"3:04PM\" }}",
        "2023-11-14T22:13:20Z|Tue Nov 14 22:13:20.122 UTC 2023|10:13PM",
    ),
    (
        0,
        "{{ (toTime 1.7e9).Format \"002 __2 _2 2 Jan January Mon Monday 3 03 15 4 04 5 05 PM pm MST -0700 -07:00 Z07:00 .000 .999 ,000 2006 06 1 01\" }}",
        "318 318 14 14 Nov November Tue Tuesday 10 10 22 13 13 20 20 PM pm UTC +0000 +00:00 Z .000  ,000 2023 23 11 11",
    ),
    (
        0,
        "{{ (toTime 0).Add 1500000000 }}|{{ (toTime 0).Sub (toTime 1) }}|{{ (toTime 90061).Sub (toTime 0) }}|{{ ((toTime 2).Sub (toTime 0)).Seconds }}|{{ (toTime 1.7e9).UTC }}|{{ (toTime 5).UnixMilli }}",
        "1970-01-01 00:00:01.5 +0000 UTC|-1s|25h1m1s|2|2023-11-14 22:13:20 +0000 UTC|5000",
    ),
    (
        0,
        "{{ (toTime 0).Before (toTime 1) }}|{{ (toTime 0).After (toTime 1) }}|{{ (toTime 1).Equal (toTime 1) }}|{{ eq (toTime 0).Month 1 }}|{{ (toTime 0).IsZero }}",
        "true|false|true|true|false",
    ),
    (
        0,
        "{{ printf \"%s %v %d\" (toTime 0) (toTime 0) (toTime 0) }}",
        "1970-01-01 00:00:00 +0000 UTC 1970-01-01 00:00:00 +0000 UTC &{0 62135596800 0}",
    ),
    (
        0,
        "{{ toTime \"abc\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <toTime \"abc\">: error calling toTime: strconv.ParseFloat: parsing \"abc\": invalid syntax>",
    ),
    (
        0,
        "{{ toTime 1e10 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <toTime 1e10>: error calling toTime: 1e+10 cannot be represented as a nanoseconds timestamp since it overflows int64>",
    ),
    (
        0,
        "{{ (toTime 0).wall }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:123: executing \"__alert_S0\" at <0>: wall is an unexported field of struct type *time.Time>",
    ),
    (
        0,
        "{{ (toTime 0).Nope }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:123: executing \"__alert_S0\" at <0>: can't evaluate field Nope in type *time.Time>",
    ),
    (
        0,
        "{{ (toTime 0).Format }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:123: executing \"__alert_S0\" at <0>: wrong number of args for Format: want 1 got 0>",
    ),
    (
        0,
        "{{ parseDuration \"1h30m\" }}|{{ parseDuration \"1y2w3d4h5m6s7ms\" }}|{{ parseDuration \"0\" }}|{{ parseDuration \"90s\" }}|{{ parseDuration \"1m1ms\" }}",
        "5400|3.3019506007e+07|0|90|60.001",
    ),
    (
        0,
        "{{ parseDuration \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <parseDuration \"\">: error calling parseDuration: empty duration string>",
    ),
    (
        0,
        "{{ parseDuration \"1.5h\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <parseDuration \"1.5h\">: error calling parseDuration: not a valid duration string: \"1.5h\">",
    ),
    (
        0,
        "{{ parseDuration \"1m1h\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <parseDuration \"1m1h\">: error calling parseDuration: not a valid duration string: \"1m1h\">",
    ),
    (
        0,
        "{{ title \"hello world-foo_bar x.y\" }}|{{ toUpper \"mixed Case é\" }}|{{ toLower \"MIXED Case É\" }}",
        "Hello World-Foo_bar X.Y|MIXED CASE É|mixed case é",
    ),
    (
        0,
        "{{ toUpper \"ß straße ǆ\" }}|{{ toLower \"İSTANBUL ΣΑΣ\" }}|{{ title \"ǆemal éa\" }}",
        "ß STRAßE Ǆ|istanbul σασ|ǅemal Éa",
    ),
    (
        0,
        "{{ stripPort \"host:80\" }}|{{ stripPort \"[::1]:80\" }}|{{ stripPort \"host\" }}|{{ stripPort \"a:b:c\" }}|{{ stripDomain \"a.b.c:80\" }}|{{ stripDomain \"1.2.3.4:80\" }}|{{ stripDomain \"a.b\" }}|{{ stripDomain \"[::1]:80\" }}|{{ stripDomain $labels.instance }}",
        "host|::1|host|a:b:c|a:80|1.2.3.4:80|a|[::1]:80|host-1:9090",
    ),
    (
        0,
        "{{ graphLink \"rate(x[5m]) > 1\" }}|{{ tableLink \"a b\" }}",
        "/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+1&g0.tab=0|/graph?g0.expr=a+b&g0.tab=1",
    ),
    (
        0,
        "{{ match \"^a.c$\" \"abc\" }}|{{ match \"b\" \"abc\" }}|{{ match \"^b\" \"abc\" }}|{{ match \"(?i)ABC\" \"abc\" }}",
        "true|true|false|true",
    ),
    (
        0,
        "{{ reReplaceAll \"(\\\\w+)-(\\\\d+)\" \"$2_$1x${1}\" \"foo-12 bar-3\" }}|{{ reReplaceAll \"a*\" \"X\" \"baaac\" }}|{{ reReplaceAll \"\\\\d\" \"N\" \"a1٣\" }}|{{ reReplaceAll \"(?P<x>b)\" \"[$x]\" \"abc\" }}|{{ reReplaceAll \"b\" \"$01$\" \"abc\" }}",
        "foo bar|XbXcX|aN٣|a[b]c|a$c",
    ),
    (
        0,
        "{{ reReplaceAll \"^(.*):\\\\d+$\" \"$1\" $labels.instance }}|{{ reReplaceAll \"\\\\.\" \"_\" \"a.b.c\" }}|{{ reReplaceAll \"\" \"-\" \"abc\" }}|{{ reReplaceAll \"x*\" \"-\" \"abc\" }}",
        "host-1.example.com|a_b_c|-a-b-c-|-a-b-c-",
    ),
    (
        0,
        "{{ match \"\\\\bfoo\\\\b\" \"a foo b\" }}|{{ match \"a{\" \"a{\" }}|{{ match \"[[]\" \"[\" }}|{{ match \"\\\\<\" \"<\" }}|{{ match \"\\\\Q.*\\\\E\" \".*\" }}|{{ match \"[\\\\d]\" \"5\" }}|{{ match \"\\\\D\" \"5\" }}|{{ match \"[^\\\\s]\" \" \" }}|{{ match \"a{2}\" \"aa\" }}|{{ match \"\\\\x41\\\\x{42}\\\\101\" \"ABA\" }}|{{ match \"[[:alpha:]]+\" \"ab\" }}|{{ match \"\\\\pL\" \"é\" }}",
        "true|true|true|true|true|true|false|false|true|true|true|true",
    ),
    (
        0,
        "{{ match \"a{2,1}\" \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <match \"a{2,1}\" \"\">: error calling match: error parsing regexp: invalid repeat count: `{2,1}`>",
    ),
    (
        0,
        "{{ match \"a**\" \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <match \"a**\" \"\">: error calling match: error parsing regexp: invalid nested repetition operator: `**`>",
    ),
    (
        0,
        "{{ match \"*\" \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <match \"*\" \"\">: error calling match: error parsing regexp: missing argument to repetition operator: `*`>",
    ),
    (
        0,
        "{{ match \"[z-a]\" \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <match \"[z-a]\" \"\">: error calling match: error parsing regexp: invalid character class range: `z-a`>",
    ),
    (
        0,
        "{{ match \"\\\\q\" \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <match \"\\\\q\" \"\">: error calling match: error parsing regexp: invalid escape sequence: `\\q`>",
    ),
    (
        0,
        "{{ match \"(?<n>a)\" \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <match \"(?<n>a)\" \"\">: error calling match: error parsing regexp: invalid or unsupported Perl syntax: `(?<`>",
    ),
    (
        0,
        "{{ match \"a{1001}\" \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <match \"a{1001}\" \"\">: error calling match: error parsing regexp: invalid repeat count: `{1001}`>",
    ),
    (
        0,
        "{{ match \"[a\" \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <match \"[a\" \"\">: error calling match: error parsing regexp: missing closing ]: `[a`>",
    ),
    (
        0,
        "{{ match \"a)\" \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <match \"a)\" \"\">: error calling match: error parsing regexp: unexpected ): `a)`>",
    ),
    (
        0,
        "{{ match \"a(\" \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <match \"a(\" \"\">: error calling match: error parsing regexp: missing closing ): `a(`>",
    ),
    (
        0,
        "{{ match \"x\\\\\" \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <match \"x\\\\\" \"\">: error calling match: error parsing regexp: trailing backslash at end of expression: ``>",
    ),
    (
        0,
        "{{ match \"(?x)a\" \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <match \"(?x)a\" \"\">: error calling match: error parsing regexp: invalid or unsupported Perl syntax: `(?x`>",
    ),
    (
        0,
        "{{ match \"[[:foo:]]\" \"\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <match \"[[:foo:]]\" \"\">: error calling match: error parsing regexp: invalid character class range: `[:foo:]`>",
    ),
    (
        0,
        "{{ reReplaceAll \"(\" \"x\" \"y\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <reReplaceAll \"(\" \"x\" \"y\">: error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`>",
    ),
    (
        0,
        "{{ reReplaceAll \"a\\\"(\" \"x\" \"y\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <reReplaceAll \"a\\\"(\" \"x\" \"y\">: error calling reReplaceAll: regexp: Compile(`a\"(`): error parsing regexp: missing closing ): `a\"(`>",
    ),
    (
        0,
        "{{ safeHtml \"<b>\" }}|{{ safeHtml \"<b>\" | printf \"%s\" }}|{{ html (safeHtml \"<b>\") }}",
        "<b>|<b>|&lt;b&gt;",
    ),
    (
        0,
        "{{ args 1 \"a\" }}|{{ (args 1 \"a\" nil).arg2 }}|{{ range $k, $v := args 1 2.5 \"s\" }}{{$k}}={{$v}} {{end}}|{{ (args 3).arg0 }}",
        "map[arg0:1 arg1:a]|<no value>|arg0=1 arg1=2.5 arg2=s |3",
    ),
    (
        0,
        "{{ printf \"%#v\" $ }}",
        "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }{Labels:map[string]string{\"__name__\":\"s0\", \"instance\":\"host-1.example.com:9090\", \"job\":\"api\", \"severity\":\"critical\"}, ExternalLabels:map[string]string{\"region\":\"eu-west\", \"replica\":\"r1\"}, ExternalURL:\"https://prom.example.com/prometheus\", Value:1e+06}",
    ),
    (
        0,
        "{{ printf \"%#v|%#v|%#v\" (args 1 nil) (safeHtml \"h\") (toTime 0) }}",
        "map[string]interface {}{\"arg0\":1, \"arg1\":interface {}(nil)}|\"h\"|time.Date(1970, time.January, 1, 0, 0, 0, 0, time.UTC)",
    ),
    (
        0,
        "{{ printf \"%+v|%#v\" (first (query \"q_one\")) (first (query \"q_one\")) }}",
        "&{Labels:map[__name__:q_one instance:x:1 job:single] Value:42.5}|&template.sample{Labels:map[string]string{\"__name__\":\"q_one\", \"instance\":\"x:1\", \"job\":\"single\"}, Value:42.5}",
    ),
    (
        0,
        "{{ printf \"%.3U|%#.6U|%-8U|%08U\" 65 65 65 65 }}",
        "U+0041|U+000041 'A'|U+0041  |  U+0041",
    ),
    (
        0,
        "{{ printf \"%v|%.2f|%e|%+v\" 1i 2.5i (args 1i).arg0 3i }}",
        "(0+1i)|(0.00+2.50i)|(0.000000e+00+1.000000e+00i)|(0+3i)",
    ),
    (
        0,
        "{{ printf \"%s|%d|%x\" true true true }}",
        "%!s(bool=true)|%!d(bool=true)|%!x(bool=true)",
    ),
    (
        0,
        "{{ printf \"%08s|%-08s|%.0s|%.10s\" \"ab\" \"ab\" \"ab\" \"ab\" }}",
        "000000ab|ab      ||ab",
    ),
    (
        0,
        "{{ printf \"%+d|% d|%+ d|%x|%#X|%#o|%O|%#b\" -5 -5 5 -255 255 0 -8 0 }}",
        "-5|-5|+5|-ff|0XFF|0|-0o10|0b0",
    ),
    (
        0,
        "{{ printf \"%c|%q|%U\" -1 1114112 -1 }}",
        "�|'�'|U+FFFFFFFFFFFFFFFF",
    ),
    (
        0,
        "{{ printf \"%6.3v|%-6.3v|%06.3v|%+.3v\" 3.14159 3.14159 3.14159 3.14159 }}",
        "  3.14|3.14  |003.14|3.14",
    ),
    (
        0,
        "{{ printf \"%#x|%#X|%# x|% #X\" \"ab\" \"ab\" \"ab\" \"ab\" }}",
        "0x6162|0X6162|0x61 0x62|0X61 0X62",
    ),
    (
        0,
        "{{ printf \"%T|%T|%T|%T|%T\" (toTime 0) (toTime 0).UTC (toTime 0).Month ((toTime 1).Sub (toTime 0)) (index \"a\" 0) }}",
        "*time.Time|time.Time|time.Month|time.Duration|uint8",
    ),
    (
        0,
        "{{ printf \"%d|%s|%v|%x\" (toTime 0).Month (toTime 0).Month (toTime 3).Weekday ((toTime 1).Sub (toTime 0)) }}",
        "1|January|Thursday|3173",
    ),
    (
        0,
        "{{ (toTime 0).Month.String }}|{{ ((toTime 90).Sub (toTime 0)).Minutes }}|{{ ((toTime 90).Sub (toTime 0)).String }}|{{ (toTime 0.0015).Sub (toTime 0) }}|{{ (toTime 3725.5).Sub (toTime 0) }}",
        "January|1.5|1m30s|1ms|1h2m5.5s",
    ),
    (
        0,
        "{{ (toTime -1e9).Format \"2006-01-02 15:04:05 Mon\" }}|{{ toTime 9.2e9 }}|{{ (toTime 1.7e9).Hour }}:{{ (toTime 1.7e9).Minute }}:{{ (toTime 1.7e9).Second }}|{{ (toTime 1.25).Nanosecond }}|{{ (toTime 1.7e9).Day }}",
        "1938-04-24 22:13:20 Sun|2261-07-15 11:33:20 +0000 UTC|22:13:20|250000000|14",
    ),
    (
        0,
        "{{ printf \"%5.1f%%\" 99.95 }}|{{ printf \"%3d%%\" 7 }}|{{ printf \"%!d\" 1 }}",
        "100.0%|  7%|%!!(int=1)d",
    ),
    (
        0,
        "{{ printf \"%[1]d %[1]x %[1]o\" 64 }}|{{ printf \"%[0]d\" 1 }}|{{ printf \"%[x]d\" 1 }}|{{ printf \"%[1]*d\" 3 4 }}|{{ printf \"%.[1]*f\" 2 3.14159 }}",
        "64 40 100|%!d(BADINDEX)|%!d(BADINDEX)|  4|3.14",
    ),
    (
        0,
        "{{ printf \"%*d\" \"x\" 5 }}|{{ printf \"%.*d\" -1 5 }}|{{ printf \"%-*d|\" -5 1 }}|{{ printf \"%d %d\" 1 }}",
        "%!(BADWIDTH)5|%!(BADPREC)5|1    ||1 %!d(MISSING)",
    ),
    (
        0,
        "{{ index \"héllo\" 1 }}|{{ slice \"héllo\" 1 3 }}|{{ len (slice \"héllo\" 3) }}",
        "195|é|3",
    ),
    (
        0,
        "{{ slice (args 1 2 3) 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <slice (args 1 2 3) 1>: error calling slice: can't slice item of type map[string]interface {}>",
    ),
    (
        0,
        "{{ urlquery \"a+b\" \"c\" nil }}|{{ js \"\\u2028x\" }}|{{ js \"😀\" }}",
        "a%2Bbc%3Cno+value%3E|\\u2028x|😀",
    ),
    (
        0,
        "{{ printf \"%q\" \"\\u00a0\\u200d😀\\u007f\" }}|{{ printf \"%+q|%#q|%#+q\" \"é😀\" \"tab\\t\" \"`\" }}",
        "\"\\u00a0\\u200d😀\\x7f\"|\"\\u00e9\\U0001f600\"|`tab\t`|\"`\"",
    ),
    (
        0,
        "{{ printf \"%v|%v|%v\" (args) (args nil) (args (args 1)) }}",
        "map[]|map[arg0:<nil>]|map[arg0:map[arg0:1]]",
    ),
    (
        0,
        "{{ print (args 1) \"x\" 2 }}|{{ println }}|{{ print \"a\" \"b\" }}|{{ print 1 }}",
        "map[arg0:1]x2|\n|ab|1",
    ),
    (
        0,
        "{{ printf \"%s\" (safeHtml \"<x>\") }}|{{ len (safeHtml \"abc\") }}|{{ index (safeHtml \"abc\") 1 }}|{{ slice (safeHtml \"abc\") 1 }}|{{ printf \"%T\" (slice (safeHtml \"abc\") 1) }}",
        "<x>|3|98|bc|template.HTML",
    ),
    (
        0,
        "{{ with (args 1 2) }}{{ .arg0 }}-{{ .arg1 }}{{ end }}|{{ range $k, $v := (args) }}x{{ else }}empty{{ end }}",
        "1-2|empty",
    ),
    (
        0,
        "{{ and (args).x 1 }}|{{ or (args).x \"fallback\" }}|{{ not (args).x }}|{{ and 0 (index \"a\" 5) }}|{{ or 1 (index \"a\" 5) }}",
        "<no value>|fallback|true|0|1",
    ),
    (
        0,
        "{{ if (args).x }}y{{ else }}n{{ end }}|{{ if 0.0 }}y{{ else }}n{{ end }}|{{ if \"0\" }}y{{ end }}|{{ if (args) }}y{{ else }}n{{ end }}|{{ if 0i }}y{{ else }}n{{ end }}",
        "n|n|y|n|n",
    ),
    (
        0,
        "{{ template \"T\" }}{{ define \"T\" }}{{ printf \"%v\" . }}{{ end }}",
        "<nil>",
    ),
    (
        0,
        "{{ define \"A\" }}a{{ template \"B\" . }}{{ end }}{{ define \"B\" }}b{{ .Value }}{{ end }}{{ template \"A\" . }}",
        "ab1e+06",
    ),
    (0, "{{ define \"__alert_S0\" }}{{ end }}[{{ 1 }}]", "[1]"),
    (
        0,
        "{{ $v := 3 }}{{ define \"D\" }}{{ . }}{{ end }}{{ template \"D\" $v }}",
        "3",
    ),
    (
        0,
        "{{ eq (toTime 0).UTC (toTime 0).UTC }}|{{ ne (index \"ab\" 0) (index \"ab\" 1) }}|{{ lt (toTime 0).Month 2 }}",
        "true|true|true",
    ),
    (0, "{{ eq (toTime 0).Month (toTime 0).Weekday }}", "false"),
    (
        0,
        "{{ eq 1.5 \"x\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <eq 1.5 \"x\">: error calling eq: incompatible types for comparison>",
    ),
    (
        0,
        "{{ lt \"a\" 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <lt \"a\" 1>: error calling lt: incompatible types for comparison>",
    ),
    (
        0,
        "{{ eq (args) 1 }}|{{ eq (first (query \"q_one\")) 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <eq (args) 1>: error calling eq: incompatible types for comparison>",
    ),
    (
        0,
        "{{ eq $ $ }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <eq $ $>: error calling eq: non-comparable type {map[__name__:s0 instance:host-1.example.com:9090 job:api severity:critical] map[region:eu-west replica:r1] https://prom.example.com/prometheus %!s(float64=1e+06)}: struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }>",
    ),
    (
        0,
        "{{ ge 2 1 }}|{{ le 2.5 2.5 }}|{{ gt 3 nil }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:145: executing \"__alert_S0\" at <gt 3 nil>: error calling gt: invalid type for comparison>",
    ),
    (
        0,
        "{{ (toTime 0).Add \"x\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:130: executing \"__alert_S0\" at <\"x\">: expected integer; found \"x\">",
    ),
    (
        0,
        "{{ (toTime 0).Before 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:133: executing \"__alert_S0\" at <1>: can't handle 1 for arg of type time.Time>",
    ),
    (
        0,
        "{{ (toTime 0).Sub }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:123: executing \"__alert_S0\" at <0>: wrong number of args for Sub: want 1 got 0>",
    ),
    (
        0,
        "{{ (toTime 0).Year 1 }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:123: executing \"__alert_S0\" at <0>: wrong number of args for Year: want 0 got 1>",
    ),
    (
        0,
        "{{ .Labels.job.Foo }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:122: executing \"__alert_S0\" at <.Labels.job.Foo>: can't evaluate field Foo in type string>",
    ),
    (
        0,
        "{{ $labels.job | humanize }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:129: executing \"__alert_S0\" at <humanize>: error calling humanize: strconv.ParseFloat: parsing \"api\": invalid syntax>",
    ),
    (
        0,
        "{{ .ExternalURL | urlquery }}|{{ $externalURL | len }}",
        "https%3A%2F%2Fprom.example.com%2Fprometheus|35",
    ),
    (
        0,
        "{{ printf \"%v\" .Value | printf \"%s!\" }}|{{ .Value | humanize | printf \"%q\" }}",
        "1e+06!|\"1M\"",
    ),
    (
        0,
        "{{ with query \"q_one\" }}{{ . | first | value }}|{{ . | first | label \"job\" }}|{{ (first .).Labels.job }}|{{ . | first | strvalue }}|{{ len . }}{{ end }}",
        "42.5|single|single||1",
    ),
    (
        0,
        "{{ range query \"q_missing\" }}x{{ else }}none{{ end }}|{{ len (query \"q_missing\") }}",
        "none|0",
    ),
    (
        0,
        "{{ first (query \"q_missing\") }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <first (query \"q_missing\")>: error calling first: first() called on vector with no elements>",
    ),
    (
        0,
        "{{ range sortByLabel \"instance\" (query \"q_up\") }}{{ .Labels.instance }}={{ .Value }} {{ end }}",
        "a:9100=0 b:9100=1 c:9100=1 ",
    ),
    (
        0,
        "{{ range $i, $s := sortByLabel \"instance\" (query \"q_up\") }}{{ $i }}:{{ $s.Labels.job }} {{ end }}|{{ len (query \"q_up\") }}",
        "0:node 1:node 2:api |3",
    ),
    (
        0,
        "{{ with query \"q_str\" }}{{ . | first | strvalue }}{{ end }}",
        "hello",
    ),
    (
        0,
        "{{ index (query \"q_one\") 0 }}|{{ (index (query \"q_one\") 0).Value }}",
        "{map[__name__:q_one instance:x:1 job:single] 42.5}|42.5",
    ),
    (
        0,
        "{{ html (first (query \"q_one\")) }}|{{ print (first (query \"q_one\")) }}|{{ printf \"%v\" (first (query \"q_one\")) }}",
        "{map[__name__:q_one instance:x:1 job:single] 42.5}|&{map[__name__:q_one instance:x:1 job:single] 42.5}|&{map[__name__:q_one instance:x:1 job:single] 42.5}",
    ),
    (
        0,
        "{{ range first (query \"q_one\") }}{{ end }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:134: executing \"__alert_S0\" at <\"q_one\">: range can't iterate over {map[__name__:q_one instance:x:1 job:single] 42.5}>",
    ),
    (
        0,
        "{{ (first (query \"q_one\")).Nope }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:129: executing \"__alert_S0\" at <\"q_one\">: can't evaluate field Nope in type *template.sample>",
    ),
    (
        0,
        "{{ $s := first (query \"q_one\") }}{{ eq $s $s }}|{{ eq (first (query \"q_one\")) (first (query \"q_one\")) }}",
        "true|false",
    ),
    (0, "{{ eq (toTime 0) (toTime 0) }}", "false"),
    (
        0,
        "{{ query \"sum(\" }}",
        "<error expanding template: error executing template __alert_S0: template: __alert_S0:1:115: executing \"__alert_S0\" at <query \"sum(\">: error calling query: 1:5: parse error: unclosed left parenthesis>",
    ),
    (
        0,
        "{{ value (first (query \"q_one\")) | humanize }}|{{ first (query \"q_one\") | value | printf \"%.1f\" }}",
        "42.5|42.5",
    ),
    (
        0,
        "{{ slice (sortByLabel \"instance\" (query \"q_up\")) 1 2 | first | label \"instance\" }}",
        "b:9100",
    ),
    (
        0,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "1e+06|1e+06|1e+06",
    ),
    (
        1,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "0.1|0.1|0.1",
    ),
    (
        2,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "0|0|0",
    ),
    (
        3,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "NaN|NaN|NaN",
    ),
    (
        4,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "+Inf|+Inf|+Inf",
    ),
    (
        5,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "-Inf|-Inf|-Inf",
    ),
    (
        6,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "-1.5|-1.5|-1.5",
    ),
    (
        7,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "1.23456789123e+08|1.23456789123e+08|1.23456789123e+08",
    ),
    (
        8,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "1e-07|1e-07|1e-07",
    ),
    (
        9,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "93600|93600|93600",
    ),
    (
        10,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "1.7e+09|1.7e+09|1.7e+09",
    ),
    (
        11,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "1e+21|1e+21|1e+21",
    ),
    (
        12,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "123456|123456|123456",
    ),
    (
        13,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "5e-324|5e-324|5e-324",
    ),
    (
        14,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "1.7976931348623157e+308|1.7976931348623157e+308|1.7976931348623157e+308",
    ),
    (
        15,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "-0|-0|-0",
    ),
    (
        16,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "0.0001|0.0001|0.0001",
    ),
    (
        17,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "100|100|100",
    ),
    (
        18,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "2.5|2.5|2.5",
    ),
    (
        19,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "99.99999|99.99999|99.99999",
    ),
    (
        20,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "1024|1024|1024",
    ),
    (
        21,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "0.000123|0.000123|0.000123",
    ),
    (
        22,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "-1.234567e+06|-1.234567e+06|-1.234567e+06",
    ),
    (
        23,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "12345.678|12345.678|12345.678",
    ),
    (
        24,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "1.005|1.005|1.005",
    ),
    (
        25,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "0.5|0.5|0.5",
    ),
    (
        26,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "59.9999|59.9999|59.9999",
    ),
    (
        27,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "3600|3600|3600",
    ),
    (
        28,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "1e+100|1e+100|1e+100",
    ),
    (
        29,
        "{{ $value }}|{{ .Value }}|{{ $value | printf \"%v\" }}",
        "0.999|0.999|0.999",
    ),
    (
        0,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "1M|976.6ki",
    ),
    (
        1,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "100m|0.1",
    ),
    (2, "{{ humanize $value }}|{{ humanize1024 $value }}", "0|0"),
    (
        3,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "NaN|NaN",
    ),
    (
        4,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "+Inf|+Inf",
    ),
    (
        5,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "-Inf|-Inf",
    ),
    (
        6,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "-1.5|-1.5",
    ),
    (
        7,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "123.5M|117.7Mi",
    ),
    (
        8,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "100n|1e-07",
    ),
    (
        9,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "93.6k|91.41ki",
    ),
    (
        10,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "1.7G|1.583Gi",
    ),
    (
        11,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "1Z|867.4Ei",
    ),
    (
        12,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "123.5k|120.6ki",
    ),
    (
        13,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "4.941e-300y|4.941e-324",
    ),
    (
        14,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "1.798e+284Y|1.487e+284Yi",
    ),
    (
        15,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "-0|-0",
    ),
    (
        16,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "100u|0.0001",
    ),
    (
        17,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "100|100",
    ),
    (
        18,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "2.5|2.5",
    ),
    (
        19,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "100|100",
    ),
    (
        20,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "1.024k|1ki",
    ),
    (
        21,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "123u|0.000123",
    ),
    (
        22,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "-1.235M|-1.177Mi",
    ),
    (
        23,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "12.35k|12.06ki",
    ),
    (
        24,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "1.005|1.005",
    ),
    (
        25,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "500m|0.5",
    ),
    (
        26,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "60|60",
    ),
    (
        27,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "3.6k|3.516ki",
    ),
    (
        28,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "1e+76Y|8.272e+75Yi",
    ),
    (
        29,
        "{{ humanize $value }}|{{ humanize1024 $value }}",
        "999m|0.999",
    ),
    (0, "{{ humanizeDuration $value }}", "11d 13h 46m 40s"),
    (1, "{{ humanizeDuration $value }}", "100ms"),
    (2, "{{ humanizeDuration $value }}", "0s"),
    (3, "{{ humanizeDuration $value }}", "NaN"),
    (4, "{{ humanizeDuration $value }}", "+Inf"),
    (5, "{{ humanizeDuration $value }}", "-Inf"),
    (6, "{{ humanizeDuration $value }}", "-1.5s"),
    (7, "{{ humanizeDuration $value }}", "1428d 21h 33m 9s"),
    (8, "{{ humanizeDuration $value }}", "100ns"),
    (9, "{{ humanizeDuration $value }}", "1d 2h 0m 0s"),
    (10, "{{ humanizeDuration $value }}", "19675d 22h 13m 20s"),
    (
        11,
        "{{ humanizeDuration $value }}",
        "-106751991167300d -15h -30m -8s",
    ),
    (12, "{{ humanizeDuration $value }}", "1d 10h 17m 36s"),
    (13, "{{ humanizeDuration $value }}", "4.941e-300ys"),
    (
        14,
        "{{ humanizeDuration $value }}",
        "-106751991167300d -15h -30m -8s",
    ),
    (15, "{{ humanizeDuration $value }}", "-0s"),
    (16, "{{ humanizeDuration $value }}", "100us"),
    (17, "{{ humanizeDuration $value }}", "1m 40s"),
    (18, "{{ humanizeDuration $value }}", "2.5s"),
    (19, "{{ humanizeDuration $value }}", "1m 39s"),
    (20, "{{ humanizeDuration $value }}", "17m 4s"),
    (21, "{{ humanizeDuration $value }}", "123us"),
    (22, "{{ humanizeDuration $value }}", "-14d 6h 56m 7s"),
    (23, "{{ humanizeDuration $value }}", "3h 25m 45s"),
    (24, "{{ humanizeDuration $value }}", "1.005s"),
    (25, "{{ humanizeDuration $value }}", "500ms"),
    (26, "{{ humanizeDuration $value }}", "60s"),
    (27, "{{ humanizeDuration $value }}", "1h 0m 0s"),
    (
        28,
        "{{ humanizeDuration $value }}",
        "-106751991167300d -15h -30m -8s",
    ),
    (29, "{{ humanizeDuration $value }}", "999ms"),
    (0, "{{ humanizePercentage $value }}", "1e+08%"),
    (1, "{{ humanizePercentage $value }}", "10%"),
    (2, "{{ humanizePercentage $value }}", "0%"),
    (3, "{{ humanizePercentage $value }}", "NaN%"),
    (4, "{{ humanizePercentage $value }}", "+Inf%"),
    (5, "{{ humanizePercentage $value }}", "-Inf%"),
    (6, "{{ humanizePercentage $value }}", "-150%"),
    (7, "{{ humanizePercentage $value }}", "1.235e+10%"),
    (8, "{{ humanizePercentage $value }}", "1e-05%"),
    (9, "{{ humanizePercentage $value }}", "9.36e+06%"),
    (10, "{{ humanizePercentage $value }}", "1.7e+11%"),
    (11, "{{ humanizePercentage $value }}", "1e+23%"),
    (12, "{{ humanizePercentage $value }}", "1.235e+07%"),
    (13, "{{ humanizePercentage $value }}", "4.941e-322%"),
    (14, "{{ humanizePercentage $value }}", "+Inf%"),
    (15, "{{ humanizePercentage $value }}", "-0%"),
    (16, "{{ humanizePercentage $value }}", "0.01%"),
    (17, "{{ humanizePercentage $value }}", "1e+04%"),
    (18, "{{ humanizePercentage $value }}", "250%"),
    (19, "{{ humanizePercentage $value }}", "1e+04%"),
    (20, "{{ humanizePercentage $value }}", "1.024e+05%"),
    (21, "{{ humanizePercentage $value }}", "0.0123%"),
    (22, "{{ humanizePercentage $value }}", "-1.235e+08%"),
    (23, "{{ humanizePercentage $value }}", "1.235e+06%"),
    (24, "{{ humanizePercentage $value }}", "100.5%"),
    (25, "{{ humanizePercentage $value }}", "50%"),
    (26, "{{ humanizePercentage $value }}", "6000%"),
    (27, "{{ humanizePercentage $value }}", "3.6e+05%"),
    (28, "{{ humanizePercentage $value }}", "1e+102%"),
    (29, "{{ humanizePercentage $value }}", "99.9%"),
    (
        0,
        "{{ humanizeTimestamp $value }}",
        "1970-01-12 13:46:40 +0000 UTC",
    ),
    (
        1,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:00:00.1 +0000 UTC",
    ),
    (
        2,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:00:00 +0000 UTC",
    ),
    (3, "{{ humanizeTimestamp $value }}", "NaN"),
    (4, "{{ humanizeTimestamp $value }}", "+Inf"),
    (5, "{{ humanizeTimestamp $value }}", "-Inf"),
    (
        6,
        "{{ humanizeTimestamp $value }}",
        "1969-12-31 23:59:58.5 +0000 UTC",
    ),
    (
        7,
        "{{ humanizeTimestamp $value }}",
        "1973-11-29 21:33:09.123 +0000 UTC",
    ),
    (
        8,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:00:00 +0000 UTC",
    ),
    (
        9,
        "{{ humanizeTimestamp $value }}",
        "1970-01-02 02:00:00 +0000 UTC",
    ),
    (
        10,
        "{{ humanizeTimestamp $value }}",
        "2023-11-14 22:13:20 +0000 UTC",
    ),
    (
        11,
        "{{ humanizeTimestamp $value }}",
        "<error expanding template: error executing template __alert_S11: template: __alert_S11:1:115: executing \"__alert_S11\" at <humanizeTimestamp $value>: error calling humanizeTimestamp: 1e+21 cannot be represented as a nanoseconds timestamp since it overflows int64>",
    ),
    (
        12,
        "{{ humanizeTimestamp $value }}",
        "1970-01-02 10:17:36 +0000 UTC",
    ),
    (
        13,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:00:00 +0000 UTC",
    ),
    (
        14,
        "{{ humanizeTimestamp $value }}",
        "<error expanding template: error executing template __alert_S14: template: __alert_S14:1:115: executing \"__alert_S14\" at <humanizeTimestamp $value>: error calling humanizeTimestamp: 1.7976931348623157e+308 cannot be represented as a nanoseconds timestamp since it overflows int64>",
    ),
    (
        15,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:00:00 +0000 UTC",
    ),
    (
        16,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:00:00 +0000 UTC",
    ),
    (
        17,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:01:40 +0000 UTC",
    ),
    (
        18,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:00:02.5 +0000 UTC",
    ),
    (
        19,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:01:39.999 +0000 UTC",
    ),
    (
        20,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:17:04 +0000 UTC",
    ),
    (
        21,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:00:00 +0000 UTC",
    ),
    (
        22,
        "{{ humanizeTimestamp $value }}",
        "1969-12-17 17:03:53 +0000 UTC",
    ),
    (
        23,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 03:25:45.678 +0000 UTC",
    ),
    (
        24,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:00:01.004 +0000 UTC",
    ),
    (
        25,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:00:00.5 +0000 UTC",
    ),
    (
        26,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:00:59.999 +0000 UTC",
    ),
    (
        27,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 01:00:00 +0000 UTC",
    ),
    (
        28,
        "{{ humanizeTimestamp $value }}",
        "<error expanding template: error executing template __alert_S28: template: __alert_S28:1:115: executing \"__alert_S28\" at <humanizeTimestamp $value>: error calling humanizeTimestamp: 1e+100 cannot be represented as a nanoseconds timestamp since it overflows int64>",
    ),
    (
        29,
        "{{ humanizeTimestamp $value }}",
        "1970-01-01 00:00:00.999 +0000 UTC",
    ),
    (
        0,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "1000000.00|1.000000e+06|1e+06|1E+06|1.000000E+06|1e+06|1000000.0|1000000.000|+1.00e+06|1000000|1000000.000000",
    ),
    (
        1,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "0.10|1.000000e-01|0.1|0.1|1.000000E-01|0.1|  0.1|0000.100|+1.00e-01|0|0.100000",
    ),
    (
        2,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "0.00|0.000000e+00|0|0|0.000000E+00|0|  0.0|0000.000|+0.00e+00|0|0.000000",
    ),
    (
        3,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "NaN|NaN|NaN|NaN|NaN|NaN|  NaN|     NaN|+NaN|NaN|NaN",
    ),
    (
        4,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "+Inf|+Inf|+Inf|+Inf|+Inf|+Inf| +Inf|    +Inf|+Inf|+Inf|+Inf",
    ),
    (
        5,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "-Inf|-Inf|-Inf|-Inf|-Inf|-Inf| -Inf|    -Inf|-Inf|-Inf|-Inf",
    ),
    (
        6,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "-1.50|-1.500000e+00|-1.5|-1.5|-1.500000E+00|-1.5| -1.5|-001.500|-1.50e+00|-2|-1.500000",
    ),
    (
        7,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "123456789.12|1.234568e+08|1.23456789123e+08|1.23456789123E+08|1.234568E+08|1.23e+08|123456789.1|123456789.123|+1.23e+08|123456789|123456789.123000",
    ),
    (
        8,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "0.00|1.000000e-07|1e-07|1E-07|1.000000E-07|1e-07|  0.0|0000.000|+1.00e-07|0|0.000000",
    ),
    (
        9,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "93600.00|9.360000e+04|93600|93600|9.360000E+04|9.36e+04|93600.0|93600.000|+9.36e+04|93600|93600.000000",
    ),
    (
        10,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "1700000000.00|1.700000e+09|1.7e+09|1.7E+09|1.700000E+09|1.7e+09|1700000000.0|1700000000.000|+1.70e+09|1700000000|1700000000.000000",
    ),
    (
        11,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "1000000000000000000000.00|1.000000e+21|1e+21|1E+21|1.000000E+21|1e+21|1000000000000000000000.0|1000000000000000000000.000|+1.00e+21|1000000000000000000000|1000000000000000000000.000000",
    ),
    (
        12,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "123456.00|1.234560e+05|123456|123456|1.234560E+05|1.23e+05|123456.0|123456.000|+1.23e+05|123456|123456.000000",
    ),
    (
        13,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "0.00|4.940656e-324|5e-324|5E-324|4.940656E-324|4.94e-324|  0.0|0000.000|+4.94e-324|0|0.000000",
    ),
    (
        14,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.00|1.797693e+308|1.7976931348623157e+308|1.7976931348623157E+308|1.797693E+308|1.8e+308|179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.0|179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.000|+1.80e+308|179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368|179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.000000",
    ),
    (
        15,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "-0.00|-0.000000e+00|-0|-0|-0.000000E+00|-0| -0.0|-000.000|-0.00e+00|-0|-0.000000",
    ),
    (
        16,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "0.00|1.000000e-04|0.0001|0.0001|1.000000E-04|0.0001|  0.0|0000.000|+1.00e-04|0|0.000100",
    ),
    (
        17,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "100.00|1.000000e+02|100|100|1.000000E+02|100|100.0|0100.000|+1.00e+02|100|100.000000",
    ),
    (
        18,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "2.50|2.500000e+00|2.5|2.5|2.500000E+00|2.5|  2.5|0002.500|+2.50e+00|2|2.500000",
    ),
    (
        19,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "100.00|9.999999e+01|99.99999|99.99999|9.999999E+01|100|100.0|0100.000|+1.00e+02|100|99.999990",
    ),
    (
        20,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "1024.00|1.024000e+03|1024|1024|1.024000E+03|1.02e+03|1024.0|1024.000|+1.02e+03|1024|1024.000000",
    ),
    (
        21,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "0.00|1.230000e-04|0.000123|0.000123|1.230000E-04|0.000123|  0.0|0000.000|+1.23e-04|0|0.000123",
    ),
    (
        22,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "-1234567.00|-1.234567e+06|-1.234567e+06|-1.234567E+06|-1.234567E+06|-1.23e+06|-1234567.0|-1234567.000|-1.23e+06|-1234567|-1234567.000000",
    ),
    (
        23,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "12345.68|1.234568e+04|12345.678|12345.678|1.234568E+04|1.23e+04|12345.7|12345.678|+1.23e+04|12346|12345.678000",
    ),
    (
        24,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "1.00|1.005000e+00|1.005|1.005|1.005000E+00|1|  1.0|0001.005|+1.00e+00|1|1.005000",
    ),
    (
        25,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "0.50|5.000000e-01|0.5|0.5|5.000000E-01|0.5|  0.5|0000.500|+5.00e-01|0|0.500000",
    ),
    (
        26,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "60.00|5.999990e+01|59.9999|59.9999|5.999990E+01|60| 60.0|0060.000|+6.00e+01|60|59.999900",
    ),
    (
        27,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "3600.00|3.600000e+03|3600|3600|3.600000E+03|3.6e+03|3600.0|3600.000|+3.60e+03|3600|3600.000000",
    ),
    (
        28,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469985856815104.00|1.000000e+100|1e+100|1E+100|1.000000E+100|1e+100|10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469985856815104.0|10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469985856815104.000|+1.00e+100|10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469985856815104|10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469985856815104.000000",
    ),
    (
        29,
        "{{ printf \"%.2f|%e|%g|%G|%E|%.3g|%5.1f|%08.3f|%+.2e|%.0f|%f\" $value $value $value $value $value $value $value $value $value $value $value }}",
        "1.00|9.990000e-01|0.999|0.999|9.990000E-01|0.999|  1.0|0000.999|+9.99e-01|1|0.999000",
    ),
    (
        0,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.e848p+19|0X1.E848P+19|8589934592000000p-33|0x1.e84p+19|1e+06|float64|%!s(float64=1e+06)|%!d(float64=1e+06)|     1e+06|1000000.00|",
    ),
    (
        1,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.999999999999ap-04|0X1.999999999999AP-04|7205759403792794p-56|0x1.99ap-04|0.1|float64|%!s(float64=0.1)|%!d(float64=0.1)|       0.1|0.10      |",
    ),
    (
        2,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x0p+00|0X0P+00|0p-1074|0x0.000p+00|0|float64|%!s(float64=0)|%!d(float64=0)|         0|0.00      |",
    ),
    (
        3,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "NaN|NaN|NaN|NaN|NaN|float64|%!s(float64=NaN)|%!d(float64=NaN)|       NaN|NaN       |",
    ),
    (
        4,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "+Inf|+Inf|+Inf|+Inf|+Inf|float64|%!s(float64=+Inf)|%!d(float64=+Inf)|      +Inf|+Inf      |",
    ),
    (
        5,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "-Inf|-Inf|-Inf|-Inf|-Inf|float64|%!s(float64=-Inf)|%!d(float64=-Inf)|      -Inf|-Inf      |",
    ),
    (
        6,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "-0x1.8p+00|-0X1.8P+00|-6755399441055744p-52|-0x1.800p+00|-1.5|float64|%!s(float64=-1.5)|%!d(float64=-1.5)|      -1.5|-1.50     |",
    ),
    (
        7,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.d6f34547df3b6p+26|0X1.D6F34547DF3B6P+26|8285044871132086p-26|0x1.d6fp+26|1.23456789123e+08|float64|%!s(float64=1.23456789123e+08)|%!d(float64=1.23456789123e+08)| 1.235e+08|123456789.12|",
    ),
    (
        8,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.ad7f29abcaf48p-24|0X1.AD7F29ABCAF48P-24|7555786372591432p-76|0x1.ad8p-24|1e-07|float64|%!s(float64=1e-07)|%!d(float64=1e-07)|     1e-07|0.00      |",
    ),
    (
        9,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.6dap+16|0X1.6DAP+16|6432143022489600p-36|0x1.6dap+16|93600|float64|%!s(float64=93600)|%!d(float64=93600)|  9.36e+04|93600.00  |",
    ),
    (
        10,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.954fc4p+30|0X1.954FC4P+30|7130316800000000p-22|0x1.955p+30|1.7e+09|float64|%!s(float64=1.7e+09)|%!d(float64=1.7e+09)|   1.7e+09|1700000000.00|",
    ),
    (
        11,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.b1ae4d6e2ef5p+69|0X1.B1AE4D6E2EF5P+69|7629394531250000p+17|0x1.b1bp+69|1e+21|float64|%!s(float64=1e+21)|%!d(float64=1e+21)|     1e+21|1000000000000000000000.00|",
    ),
    (
        12,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.e24p+16|0X1.E24P+16|8483831719919616p-36|0x1.e24p+16|123456|float64|%!s(float64=123456)|%!d(float64=123456)| 1.235e+05|123456.00 |",
    ),
    (
        13,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1p-1074|0X1P-1074|1p-1074|0x1.000p-1074|5e-324|float64|%!s(float64=5e-324)|%!d(float64=5e-324)|4.941e-324|0.00      |",
    ),
    (
        14,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.fffffffffffffp+1023|0X1.FFFFFFFFFFFFFP+1023|9007199254740991p+971|0x1.000p+1024|1.7976931348623157e+308|float64|%!s(float64=1.7976931348623157e+308)|%!d(float64=1.7976931348623157e+308)|1.798e+308|179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.00|",
    ),
    (
        15,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "-0x0p+00|-0X0P+00|-0p-1074|-0x0.000p+00|-0|float64|%!s(float64=-0)|%!d(float64=-0)|        -0|-0.00     |",
    ),
    (
        16,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.a36e2eb1c432dp-14|0X1.A36E2EB1C432DP-14|7378697629483821p-66|0x1.a37p-14|0.0001|float64|%!s(float64=0.0001)|%!d(float64=0.0001)|    0.0001|0.00      |",
    ),
    (
        17,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.9p+06|0X1.9P+06|7036874417766400p-46|0x1.900p+06|100|float64|%!s(float64=100)|%!d(float64=100)|       100|100.00    |",
    ),
    (
        18,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.4p+01|0X1.4P+01|5629499534213120p-51|0x1.400p+01|2.5|float64|%!s(float64=2.5)|%!d(float64=2.5)|       2.5|2.50      |",
    ),
    (
        19,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.8ffffd60e94eep+06|0X1.8FFFFD60E94EEP+06|7036873714078958p-46|0x1.900p+06|99.99999|float64|%!s(float64=99.99999)|%!d(float64=99.99999)|       100|100.00    |",
    ),
    (
        20,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1p+10|0X1P+10|4503599627370496p-42|0x1.000p+10|1024|float64|%!s(float64=1024)|%!d(float64=1024)|      1024|1024.00   |",
    ),
    (
        21,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.01f31f46ed246p-13|0X1.01F31F46ED246P-13|4537899042132550p-65|0x1.01fp-13|0.000123|float64|%!s(float64=0.000123)|%!d(float64=0.000123)|  0.000123|0.00      |",
    ),
    (
        22,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "-0x1.2d687p+20|-0X1.2D687P+20|-5302424889720832p-32|-0x1.2d7p+20|-1.234567e+06|float64|%!s(float64=-1.234567e+06)|%!d(float64=-1.234567e+06)|-1.235e+06|-1234567.00|",
    ),
    (
        23,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.81cd6c8b43958p+13|0X1.81CD6C8B43958P+13|6787108256889176p-39|0x1.81dp+13|12345.678|float64|%!s(float64=12345.678)|%!d(float64=12345.678)| 1.235e+04|12345.68  |",
    ),
    (
        24,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.0147ae147ae14p+00|0X1.0147AE147AE14P+00|4526117625507348p-52|0x1.014p+00|1.005|float64|%!s(float64=1.005)|%!d(float64=1.005)|     1.005|1.00      |",
    ),
    (
        25,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1p-01|0X1P-01|4503599627370496p-53|0x1.000p-01|0.5|float64|%!s(float64=0.5)|%!d(float64=0.5)|       0.5|0.50      |",
    ),
    (
        26,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.dfffcb923a29cp+05|0X1.DFFFCB923A29CP+05|8444235227570844p-47|0x1.e00p+05|59.9999|float64|%!s(float64=59.9999)|%!d(float64=59.9999)|        60|60.00     |",
    ),
    (
        27,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.c2p+11|0X1.C2P+11|7916483719987200p-41|0x1.c20p+11|3600|float64|%!s(float64=3600)|%!d(float64=3600)|      3600|3600.00   |",
    ),
    (
        28,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.249ad2594c37dp+332|0X1.249AD2594C37DP+332|5147557589468029p+280|0x1.24ap+332|1e+100|float64|%!s(float64=1e+100)|%!d(float64=1e+100)|    1e+100|10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469985856815104.00|",
    ),
    (
        29,
        "{{ printf \"%x|%X|%b|%.3x|%#v|%T|%s|%d|%10.4v|%-10.2f|\" $value $value $value $value $value $value $value $value $value $value }}",
        "0x1.ff7ced916872bp-01|0X1.FF7CED916872BP-01|8998192055486251p-53|0x1.ff8p-01|0.999|float64|%!s(float64=0.999)|%!d(float64=0.999)|     0.999|1.00      |",
    ),
    (
        0,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "high|false|false",
    ),
    (
        1,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|false|false",
    ),
    (
        2,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|true|true",
    ),
    (
        3,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "high|false|false",
    ),
    (
        4,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "high|false|false",
    ),
    (
        5,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "negative|false|false",
    ),
    (
        6,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "negative|false|false",
    ),
    (
        7,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "high|false|false",
    ),
    (
        8,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|false|false",
    ),
    (
        9,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "high|false|false",
    ),
    (
        10,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "high|false|false",
    ),
    (
        11,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "high|false|false",
    ),
    (
        12,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "high|false|false",
    ),
    (
        13,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|false|false",
    ),
    (
        14,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "high|false|false",
    ),
    (
        15,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|true|true",
    ),
    (
        16,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|false|false",
    ),
    (
        17,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|false|false",
    ),
    (
        18,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|false|false",
    ),
    (
        19,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|false|false",
    ),
    (
        20,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "high|false|false",
    ),
    (
        21,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|false|false",
    ),
    (
        22,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "negative|false|false",
    ),
    (
        23,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "high|false|false",
    ),
    (
        24,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|false|false",
    ),
    (
        25,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|false|false",
    ),
    (
        26,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|false|false",
    ),
    (
        27,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "high|false|false",
    ),
    (
        28,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "high|false|false",
    ),
    (
        29,
        "{{ if gt $value 100.0 }}high{{ else if lt $value 0.0 }}negative{{ else }}low{{ end }}|{{ eq $value 0.0 }}|{{ not $value }}",
        "low|false|false",
    ),
    (0, "{{ toTime $value }}", "1970-01-12 13:46:40 +0000 UTC"),
    (1, "{{ toTime $value }}", "1970-01-01 00:00:00.1 +0000 UTC"),
    (2, "{{ toTime $value }}", "1970-01-01 00:00:00 +0000 UTC"),
    (
        3,
        "{{ toTime $value }}",
        "<error expanding template: error executing template __alert_S3: template: __alert_S3:1:115: executing \"__alert_S3\" at <toTime $value>: error calling toTime: value is NaN or Inf>",
    ),
    (
        4,
        "{{ toTime $value }}",
        "<error expanding template: error executing template __alert_S4: template: __alert_S4:1:115: executing \"__alert_S4\" at <toTime $value>: error calling toTime: value is NaN or Inf>",
    ),
    (
        5,
        "{{ toTime $value }}",
        "<error expanding template: error executing template __alert_S5: template: __alert_S5:1:115: executing \"__alert_S5\" at <toTime $value>: error calling toTime: value is NaN or Inf>",
    ),
    (6, "{{ toTime $value }}", "1969-12-31 23:59:58.5 +0000 UTC"),
    (
        7,
        "{{ toTime $value }}",
        "1973-11-29 21:33:09.123 +0000 UTC",
    ),
    (8, "{{ toTime $value }}", "1970-01-01 00:00:00 +0000 UTC"),
    (9, "{{ toTime $value }}", "1970-01-02 02:00:00 +0000 UTC"),
    (10, "{{ toTime $value }}", "2023-11-14 22:13:20 +0000 UTC"),
    (
        11,
        "{{ toTime $value }}",
        "<error expanding template: error executing template __alert_S11: template: __alert_S11:1:115: executing \"__alert_S11\" at <toTime $value>: error calling toTime: 1e+21 cannot be represented as a nanoseconds timestamp since it overflows int64>",
    ),
    (12, "{{ toTime $value }}", "1970-01-02 10:17:36 +0000 UTC"),
    (13, "{{ toTime $value }}", "1970-01-01 00:00:00 +0000 UTC"),
    (
        14,
        "{{ toTime $value }}",
        "<error expanding template: error executing template __alert_S14: template: __alert_S14:1:115: executing \"__alert_S14\" at <toTime $value>: error calling toTime: 1.7976931348623157e+308 cannot be represented as a nanoseconds timestamp since it overflows int64>",
    ),
    (15, "{{ toTime $value }}", "1970-01-01 00:00:00 +0000 UTC"),
    (16, "{{ toTime $value }}", "1970-01-01 00:00:00 +0000 UTC"),
    (17, "{{ toTime $value }}", "1970-01-01 00:01:40 +0000 UTC"),
    (18, "{{ toTime $value }}", "1970-01-01 00:00:02.5 +0000 UTC"),
    (
        19,
        "{{ toTime $value }}",
        "1970-01-01 00:01:39.999 +0000 UTC",
    ),
    (20, "{{ toTime $value }}", "1970-01-01 00:17:04 +0000 UTC"),
    (21, "{{ toTime $value }}", "1970-01-01 00:00:00 +0000 UTC"),
    (22, "{{ toTime $value }}", "1969-12-17 17:03:53 +0000 UTC"),
    (
        23,
        "{{ toTime $value }}",
        "1970-01-01 03:25:45.678 +0000 UTC",
    ),
    (
        24,
        "{{ toTime $value }}",
        "1970-01-01 00:00:01.004 +0000 UTC",
    ),
    (25, "{{ toTime $value }}", "1970-01-01 00:00:00.5 +0000 UTC"),
    (
        26,
        "{{ toTime $value }}",
        "1970-01-01 00:00:59.999 +0000 UTC",
    ),
    (27, "{{ toTime $value }}", "1970-01-01 01:00:00 +0000 UTC"),
    (
        28,
        "{{ toTime $value }}",
        "<error expanding template: error executing template __alert_S28: template: __alert_S28:1:115: executing \"__alert_S28\" at <toTime $value>: error calling toTime: 1e+100 cannot be represented as a nanoseconds timestamp since it overflows int64>",
    ),
    (
        29,
        "{{ toTime $value }}",
        "1970-01-01 00:00:00.999 +0000 UTC",
    ),
    (
        0,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=6)%",
    ),
    (
        1,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=3)%",
    ),
    (
        2,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=2)%",
    ),
    (
        3,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=4)%",
    ),
    (
        4,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=5)%",
    ),
    (
        5,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=5)%",
    ),
    (
        6,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=5)%",
    ),
    (
        7,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=1)%",
    ),
    (
        8,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=6)%",
    ),
    (
        9,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=9)%",
    ),
    (
        10,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=8)%",
    ),
    (
        11,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=6)%",
    ),
    (
        12,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=1)%",
    ),
    (
        13,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=1)%",
    ),
    (
        14,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=5)%",
    ),
    (
        15,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=3)%",
    ),
    (
        16,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=5)%",
    ),
    (
        17,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=6)%",
    ),
    (
        18,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=4)%",
    ),
    (
        19,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=6)%",
    ),
    (
        20,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=1)%",
    ),
    (
        21,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=7)%",
    ),
    (
        22,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=1)%",
    ),
    (
        23,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=1)%",
    ),
    (
        24,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=6)%",
    ),
    (
        25,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=3)%",
    ),
    (
        26,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=5)%",
    ),
    (
        27,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=8)%",
    ),
    (
        28,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=7)%",
    ),
    (
        29,
        "{{ printf \"%.1f%%\" (humanizePercentage $value | len | printf \"%d\" | printf \"%s\") }}",
        "%!f(string=5)%",
    ),
    (
        0,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "api is 1M (1e+06)",
    ),
    (
        1,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "node is 100m (0.1)",
    ),
    (
        2,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "zero is 0 (0)",
    ),
    (
        3,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "nan is NaN (NaN)",
    ),
    (
        4,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "inf is +Inf (+Inf)",
    ),
    (
        5,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "ninf is -Inf (-Inf)",
    ),
    (
        6,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "neg is -1.5 (-1.5)",
    ),
    (
        7,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "big is 123.5M (1.235e+08)",
    ),
    (
        8,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "tiny is 100n (1e-07)",
    ),
    (
        9,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "dur is 93.6k (9.36e+04)",
    ),
    (
        10,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "ts is 1.7G (1.7e+09)",
    ),
    (
        11,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "huge is 1Z (1e+21)",
    ),
    (
        12,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "six is 123.5k (1.235e+05)",
    ),
    (
        13,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "denormal is 4.941e-300y (4.941e-324)",
    ),
    (
        14,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "max is 1.798e+284Y (1.798e+308)",
    ),
    (
        15,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "negzero is -0 (-0)",
    ),
    (
        16,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "e4 is 100u (0.0001)",
    ),
    (
        17,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "hundred is 100 (100)",
    ),
    (
        18,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "half is 2.5 (2.5)",
    ),
    (
        19,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "nines is 100 (100)",
    ),
    (
        20,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "kibi is 1.024k (1024)",
    ),
    (
        21,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "micro is 123u (0.000123)",
    ),
    (
        22,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "negbig is -1.235M (-1.235e+06)",
    ),
    (
        23,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "mixed is 12.35k (1.235e+04)",
    ),
    (
        24,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "tie is 1.005 (1.005)",
    ),
    (
        25,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "pointfive is 500m (0.5)",
    ),
    (
        26,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "almostmin is 60 (60)",
    ),
    (
        27,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "hour is 3.6k (3600)",
    ),
    (
        28,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "googol is 1e+76Y (1e+100)",
    ),
    (
        29,
        "{{ $labels.job }} is {{ $value | humanize }} ({{ printf \"%.4g\" $value }})",
        "lt1 is 999m (0.999)",
    ),
    (
        1,
        "{{ $labels }}",
        "map[__name__:s1 instance:10.0.0.1:9100 job:node path:/a b/\"q\" uni:héllo wörld]",
    ),
    (
        1,
        "{{ $labels.path }}|{{ $labels.uni }}|{{ printf \"%q\" $labels.path }}|{{ js $labels.path }}|{{ html $labels.path }}|{{ urlquery $labels.uni }}",
        "/a b/\"q\"|héllo wörld|\"/a b/\\\"q\\\"\"|/a b/\\\"q\\\"|/a b/&#34;q&#34;|h%C3%A9llo+w%C3%B6rld",
    ),
    (
        1,
        "{{ toUpper $labels.uni }}|{{ title $labels.uni }}|{{ len $labels.uni }}|{{ printf \"%x\" $labels.uni }}|{{ printf \"%.3s\" $labels.uni }}|{{ printf \"%8.3q\" $labels.uni }}",
        "HÉLLO WÖRLD|Héllo Wörld|13|68c3a96c6c6f2077c3b6726c64|hél|   \"hél\"",
    ),
];
