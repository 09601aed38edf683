//! The MLflow search filter and `order_by` grammar (`hangar_core::filter`).
//!
//! Error cases mirror upstream `tests/utils/test_search_utils.py` and the wire reference §4;
//! messages are asserted by substring, as MLflow's own tests do.

use hangar_core::filter::{
    Clause, Comparator, FilterError, Key, MAX_CLAUSES, MAX_FILTER_BYTES, OrderBy, SearchKind,
    Value, parse_filter, parse_order_by, validate_logged_model_order_field,
};

use Comparator as C;
use SearchKind::*;

const ALL_KINDS: [SearchKind; 5] = [
    Experiments,
    Runs,
    RegisteredModels,
    ModelVersions,
    LoggedModels,
];

fn ok(kind: SearchKind, filter: &str) -> Vec<Clause> {
    parse_filter(kind, filter).unwrap_or_else(|e| panic!("{kind:?} {filter:?} failed: {e}"))
}

fn one(kind: SearchKind, filter: &str) -> Clause {
    let mut clauses = ok(kind, filter);
    assert_eq!(clauses.len(), 1, "{filter:?}");
    clauses.remove(0)
}

fn err(kind: SearchKind, filter: &str) -> String {
    match parse_filter(kind, filter) {
        Ok(c) => panic!(
            "{kind:?} {:?} should fail, parsed {c:?}",
            &filter.chars().take(120).collect::<String>()
        ),
        Err(FilterError(message)) => message,
    }
}

fn assert_err(kind: SearchKind, filter: &str, needle: &str) {
    let message = err(kind, filter);
    let shown: String = filter.chars().take(120).collect();
    assert!(
        message.contains(needle),
        "{kind:?} {shown:?}: expected {needle:?} in {message:?}"
    );
}

fn clause(key: Key, comparator: Comparator, value: Value) -> Clause {
    Clause {
        key,
        comparator,
        value,
    }
}

fn attr(k: &str) -> Key {
    Key::Attribute(k.into())
}
fn metric(k: &str) -> Key {
    Key::Metric(k.into())
}
fn param(k: &str) -> Key {
    Key::Param(k.into())
}
fn tag(k: &str) -> Key {
    Key::Tag(k.into())
}
fn s(v: &str) -> Value {
    Value::Str(v.into())
}
fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|i| i.to_string()).collect())
}

fn order(kind: SearchKind, entries: &[&str]) -> Result<Vec<OrderBy>, String> {
    let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
    parse_order_by(kind, &entries).map_err(|e| e.0)
}

fn order_one(kind: SearchKind, entry: &str) -> (Key, bool) {
    let mut parsed = order(kind, &[entry]).unwrap_or_else(|e| panic!("{entry:?}: {e}"));
    let o = parsed.remove(0);
    (o.key, o.ascending)
}

fn order_err(kind: SearchKind, entry: &str, needle: &str) {
    match order(kind, &[entry]) {
        Ok(o) => panic!("{kind:?} order_by {entry:?} should fail, parsed {o:?}"),
        Err(message) => assert!(
            message.contains(needle),
            "{kind:?} {entry:?}: expected {needle:?} in {message:?}"
        ),
    }
}

// ---- common structure ------------------------------------------------------------------

#[test]
fn empty_and_blank_filters_give_no_clauses() {
    for kind in ALL_KINDS {
        assert!(ok(kind, "").is_empty());
        assert!(ok(kind, "  \t\n ").is_empty());
    }
}

#[test]
fn and_is_case_insensitive_and_whitespace_free() {
    let clauses = ok(
        Runs,
        "metrics.rmse < 1 and params.model_class = 'LR' AnD tags.t='x'",
    );
    assert_eq!(
        clauses,
        vec![
            clause(metric("rmse"), C::Lt, Value::Num(1.0)),
            clause(param("model_class"), C::Eq, s("LR")),
            clause(tag("t"), C::Eq, s("x")),
        ]
    );
    assert_eq!(ok(Runs, "params.a='x'AND params.b='y'").len(), 2);
    assert_eq!(ok(Runs, "\n metric.acc>=100\t").len(), 1);
}

#[test]
fn or_and_garbage_are_invalid_clauses() {
    assert_err(
        Runs,
        "metrics.A > 0.1 OR params.B = 'LR'",
        "Invalid clause(s) in filter string: 'OR'",
    );
    assert_err(
        Experiments,
        "name = 'a' OR 1=1",
        "Invalid clause(s) in filter string: OR",
    );
    assert_err(
        RegisteredModels,
        "name = 'a' or name = 'b'",
        "Invalid clause(s) in filter string",
    );
    for bad in [
        "metrics.A > 0.1 NAND params.B = 'LR'",
        "metrics.A > 0.1 AND (params.B = 'LR')",
        "(metrics.A > 0.1)",
        "`metrics.A > 0.1",
        "param`.A > 0.1",
        "`dummy.A > 0.1",
        "params.'acc = LR",
        "params.acc = 'LR",
        "params.acc = \"LR'",
        "tags.acc = \"LR'",
        "tags.acc = = 'LR'",
        "attribute.status IS 'RUNNING'",
        "params.acc LR !=",
        "params.acc LR",
        "metric.acc !=",
        "metric.acc",
        "metrics.a > 1 AND",
        "AND metrics.a > 1",
        "metrics.a > 1 AND AND metrics.b > 2",
        "metrics.a > 1 metrics.b > 2",
        "metrics.a > 1 -- comment",
        "name = 'x';",
        "tags. = 'x'",
        "tags.my-tag = 'x'",
        "run_id IN 'abc'",
        "run_id IN ('a'",
        "run_id NOT ('a')",
        "tags.a IS NOT 'x'",
        "tags.a ISNULL",
        "metrics.a > -x",
        "metrics.a > 1.2.3",
        "status = 'a' 'b'",
    ] {
        assert_err(Runs, bad, "Invalid clause(s) in filter string");
    }
}

#[test]
fn semicolons_are_multiple_statements() {
    assert_err(
        Runs,
        "metric.acc >= 0.94; metrics.rmse < 1",
        "Search filter contained multiple expression",
    );
    assert_err(
        RegisteredModels,
        "name = 'x'; DROP TABLE registered_models; --",
        "Provide AND-ed expression list",
    );
    // Inside quotes a semicolon is just text.
    assert_eq!(one(RegisteredModels, "name = 'a;b'").value, s("a;b"));
}

#[test]
fn literal_on_the_left_is_not_an_identifier() {
    for bad in [
        "1=1",
        "1==2",
        "1.0 > metrics.acc",
        "'a' = name",
        "-1 < metrics.a",
    ] {
        assert_err(Runs, bad, "Expected 'Identifier' found");
    }
}

#[test]
fn keywords_are_case_insensitive() {
    assert_eq!(one(Runs, "params.p like 'a%'").comparator, C::Like);
    assert_eq!(one(Runs, "params.p iLiKe 'a%'").comparator, C::ILike);
    assert_eq!(one(Runs, "run_id in ('a')").comparator, C::In);
    assert_eq!(one(Runs, "run_id not   in ('a')").comparator, C::NotIn);
    assert_eq!(one(Runs, "tags.t is null").comparator, C::IsNull);
    assert_eq!(one(Runs, "tags.t Is\tNot\nNull").comparator, C::IsNotNull);
}

#[test]
fn unknown_operators_are_invalid_comparators() {
    assert_err(
        Runs,
        "metrics.a >> 1",
        "Invalid comparator '>>' not one of '{'>', '>=', '!=', '=', '<', '<='}",
    );
    assert_err(Runs, "metrics.a == 1", "Invalid comparator '=='");
    assert_err(Runs, "metrics.a <> 1", "Invalid comparator '<>'");
    assert_err(Runs, "metrics.abc ~ 1.0", "Invalid comparator '~'");
    assert_err(Runs, "params.abc ~= 'x'", "Invalid comparator '~='");
    assert_err(
        Runs,
        "params.p NOT LIKE 'x'",
        "Invalid comparator 'NOT LIKE'",
    );
    assert_err(Runs, "params.p rlike 'x'", "Invalid comparator 'RLIKE'");
}

// ---- runs ------------------------------------------------------------------------------

#[test]
fn runs_upstream_accepted_filters() {
    let cases: Vec<(&str, Clause)> = vec![
        (
            "metric.acc >= 0.94",
            clause(metric("acc"), C::Ge, Value::Num(0.94)),
        ),
        (
            "metric.acc>=100",
            clause(metric("acc"), C::Ge, Value::Num(100.0)),
        ),
        ("params.m!='tf'", clause(param("m"), C::Ne, s("tf"))),
        ("params.\"m\"!=\"tf\"", clause(param("m"), C::Ne, s("tf"))),
        (
            "metric.\"legit name\" >= 0.243",
            clause(metric("legit name"), C::Ge, Value::Num(0.243)),
        ),
        (
            "metrics.XYZ = 3",
            clause(metric("XYZ"), C::Eq, Value::Num(3.0)),
        ),
        (
            "params.\"cat dog\" = \"pets\"",
            clause(param("cat dog"), C::Eq, s("pets")),
        ),
        (
            "metrics.\"X-Y-Z\" = 3",
            clause(metric("X-Y-Z"), C::Eq, Value::Num(3.0)),
        ),
        (
            "metrics.\"X//Y#$$@&Z\" = 3",
            clause(metric("X//Y#$$@&Z"), C::Eq, Value::Num(3.0)),
        ),
        (
            "params.model = 'LinearRegression'",
            clause(param("model"), C::Eq, s("LinearRegression")),
        ),
        (
            "`metric`.a >= 0.1",
            clause(metric("a"), C::Ge, Value::Num(0.1)),
        ),
        (
            "tags.version = 'commit-hash'",
            clause(tag("version"), C::Eq, s("commit-hash")),
        ),
        (
            "`tags`.source_name = 'a notebook'",
            clause(tag("source_name"), C::Eq, s("a notebook")),
        ),
        (
            "metrics.\"accuracy.2.0\" > 5",
            clause(metric("accuracy.2.0"), C::Gt, Value::Num(5.0)),
        ),
        (
            "metrics.`spacey name` > 5",
            clause(metric("spacey name"), C::Gt, Value::Num(5.0)),
        ),
        (
            "params.\"p.a.r.a.m\" != \"a\"",
            clause(param("p.a.r.a.m"), C::Ne, s("a")),
        ),
        (
            "tags.\"t.a.g\" = \"a\"",
            clause(tag("t.a.g"), C::Eq, s("a")),
        ),
        (
            "attribute.artifact_uri = '1/23/4'",
            clause(attr("artifact_uri"), C::Eq, s("1/23/4")),
        ),
        (
            "attribute.start_time >= 1234",
            clause(attr("start_time"), C::Ge, Value::Num(1234.0)),
        ),
        (
            "run.status = 'RUNNING'",
            clause(attr("status"), C::Eq, s("RUNNING")),
        ),
        (
            "attr.user_id LIKE 'a%'",
            clause(attr("user_id"), C::Like, s("a%")),
        ),
        (
            "attributes.end_time < 5",
            clause(attr("end_time"), C::Lt, Value::Num(5.0)),
        ),
        (
            "status != 'FAILED'",
            clause(attr("status"), C::Ne, s("FAILED")),
        ),
        (
            "dataset.name = 'my_dataset'",
            clause(Key::Dataset("name".into()), C::Eq, s("my_dataset")),
        ),
        (
            "datasets.digest IN ('d1', 'd2')",
            clause(Key::Dataset("digest".into()), C::In, list(&["d1", "d2"])),
        ),
        (
            "datasets.context != 'train'",
            clause(Key::Dataset("context".into()), C::Ne, s("train")),
        ),
        (
            "tags.version IS NULL",
            clause(tag("version"), C::IsNull, Value::Null),
        ),
        (
            "tags.version IS NOT NULL",
            clause(tag("version"), C::IsNotNull, Value::Null),
        ),
        (
            "params.lr IS NULL",
            clause(param("lr"), C::IsNull, Value::Null),
        ),
        (
            "parameters.lr IS NOT NULL",
            clause(param("lr"), C::IsNotNull, Value::Null),
        ),
        (
            "param.lr ILIKE '%E-3'",
            clause(param("lr"), C::ILike, s("%E-3")),
        ),
        (
            "tags.mlflow.runName = 'r'",
            clause(tag("mlflow.runName"), C::Eq, s("r")),
        ),
        (
            "tags.`mlflow.runName` = 'r'",
            clause(tag("mlflow.runName"), C::Eq, s("r")),
        ),
        (
            "metrics.2xx > 1",
            clause(metric("2xx"), C::Gt, Value::Num(1.0)),
        ),
        (
            "run_id IN ('a', 'b')",
            clause(attr("run_id"), C::In, list(&["a", "b"])),
        ),
        (
            "attributes.run_id NOT IN ('a',)",
            clause(attr("run_id"), C::NotIn, list(&["a"])),
        ),
        (
            "run_id IN('a')",
            clause(attr("run_id"), C::In, list(&["a"])),
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(one(Runs, filter), expected, "{filter:?}");
    }
}

#[test]
fn runs_attribute_aliases_are_normalised() {
    assert_eq!(one(Runs, "created > 5").key, attr("start_time"));
    assert_eq!(one(Runs, "attributes.Created > 5").key, attr("start_time"));
    assert_eq!(one(Runs, "`run name` = 'x'").key, attr("run_name"));
    assert_eq!(
        one(Runs, "attributes.`Run name` = 'x'").key,
        attr("run_name")
    );
    assert_eq!(
        one(Runs, "attributes.\"Run Name\" = 'x'").key,
        attr("run_name")
    );
    assert_eq!(one(Runs, "run_name = 'x'").key, attr("run_name"));
}

#[test]
fn runs_identifier_errors() {
    for (filter, needle) in [
        (
            "m.acc >= 0.94",
            "Invalid entity type 'm'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']",
        ),
        ("p.model >= 'LR'", "Invalid entity type"),
        ("attri.x != 1", "Invalid entity type"),
        ("Metrics.x > 1", "Invalid entity type 'Metrics'"),
        ("\"tags\".x = 'a'", "Invalid entity type"),
        ("\"a.b\" = 'x'", "Invalid entity type"),
        (
            "acc >= 0.94",
            "Invalid attribute key 'acc' specified. Valid keys are '{",
        ),
        ("model >= 'LR'", "Invalid attribute key"),
        ("attribute.start != 1", "Invalid attribute key"),
        ("attribute.experiment_id != 1", "Invalid attribute key"),
        (
            "attribute.lifecycle_stage = 'ACTIVE'",
            "Invalid attribute key",
        ),
        ("attribute.name != 1", "Invalid attribute key"),
        ("attribute._status != 'RUNNING'", "Invalid attribute key"),
        ("foo is null", "Invalid attribute key"),
        (
            "dataset.status = 'true'",
            "Invalid dataset key 'status' specified",
        ),
        ("dataset.profile = 'num_rows: 10'", "Invalid dataset key"),
        (
            "metrics.acc IS NULL",
            "IS NULL / IS NOT NULL is only supported for tags and params, not for 'metric' 'acc'",
        ),
        (
            "attribute.status IS NULL",
            "IS NULL / IS NOT NULL is only supported for tags and params",
        ),
        (
            "datasets.name IS NOT NULL",
            "IS NULL / IS NOT NULL is only supported for tags and params",
        ),
    ] {
        assert_err(Runs, filter, needle);
    }
}

#[test]
fn runs_value_errors() {
    for (filter, needle) in [
        (
            "metric.model = 'LR'",
            "Expected numeric value type for metric. Found 'LR'",
        ),
        (
            "metric.model = '5'",
            "Expected numeric value type for metric. Found '5'",
        ),
        (
            "metrics.acc != metrics.acc",
            "Expected numeric value type for metric. Found metrics.acc",
        ),
        (
            "metrics.acc > 0x10",
            "Expected numeric value type for metric. Found 0x10",
        ),
        (
            "metrics.acc IN ('1')",
            "Expected numeric value type for metric",
        ),
        (
            "params.acc = 5",
            "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 5",
        ),
        (
            "tags.acc = 5",
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value 5",
        ),
        (
            "tags.acc IN ('a')",
            "Expected a quoted string value for tag",
        ),
        (
            "attribute.status = 1",
            "Expected a quoted string value for attributes. Got value 1",
        ),
        (
            "attributes.start_time = 'now'",
            "Expected numeric value type for numeric attribute: start_time. Found 'now'",
        ),
        (
            "params.acc = LR",
            "value is either not quoted or unidentified quote types",
        ),
        (
            "tags.acc = LR",
            "value is either not quoted or unidentified quote types",
        ),
        (
            "params.acc = `LR`",
            "value is either not quoted or unidentified quote types",
        ),
        ("attribute.status = true", "value is either not quoted"),
        (
            "datasets.name = 40",
            "Expected a quoted string value for dataset attributes. Got value 40",
        ),
        (
            "attributes.run_name IN ('foo','bar')",
            "Only the 'run_id' attribute supports comparison with a list",
        ),
        (
            "status NOT IN ('a')",
            "Only the 'run_id' attribute supports comparison with a list",
        ),
        (
            "run_id IN ()",
            "expected a non-empty list of string values, but got empty list",
        ),
        ("run_id IN (  )", "but got empty list"),
        ("run_id IN (1, 2)", "but got different type in list: (1, 2)"),
        ("run_id IN ('a', None)", "but got different type in list"),
        ("run_id IN ('a' , , 'b')", "but got ill-formed list"),
        ("run_id IN (,)", "but got ill-formed list"),
        ("run_id IN (('a'))", "but got ill-formed list"),
        ("run_id IN (a, b)", "but got ill-formed list"),
        (
            "run_id = ('a', 'b')",
            "Invalid comparator '=' for a list of values",
        ),
    ] {
        assert_err(Runs, filter, needle);
    }
}

#[test]
fn runs_comparator_errors() {
    for (kind_filter, needle) in [
        (
            "metrics.abc LIKE 1.0",
            "Invalid comparator 'LIKE' not one of",
        ),
        (
            "params.abc > 'x'",
            "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'",
        ),
        ("params.abc <= 'x'", "Invalid comparator '<='"),
        (
            "tags.abc >= 'x'",
            "Invalid comparator '>=' not one of '{'!=', '=', 'LIKE', 'ILIKE'}",
        ),
        (
            "attributes.status < 'x'",
            "Invalid comparator '<' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}'",
        ),
        (
            "attributes.start_time LIKE 1234",
            "Invalid comparator 'LIKE'",
        ),
        (
            "attributes.start_time ILIKE 1234",
            "Invalid comparator 'ILIKE'",
        ),
        ("datasets.name > 'x'", "Invalid comparator '>'"),
    ] {
        assert_err(Runs, kind_filter, needle);
    }
}

#[test]
fn numbers() {
    let num = |f: &str| one(Runs, &format!("metrics.m > {f}")).value;
    assert_eq!(num("0"), Value::Num(0.0));
    assert_eq!(num("-1"), Value::Num(-1.0));
    assert_eq!(num("-1.5"), Value::Num(-1.5));
    assert_eq!(num("1."), Value::Num(1.0));
    assert_eq!(num(".5"), Value::Num(0.5));
    assert_eq!(num("-.5"), Value::Num(-0.5));
    assert_eq!(num("1e3"), Value::Num(1000.0));
    assert_eq!(num("1E-3"), Value::Num(0.001));
    assert_eq!(num("2.5e+2"), Value::Num(250.0));
    assert_eq!(num("1e999"), Value::Num(f64::INFINITY));
    assert_eq!(one(Runs, "metrics.m>-1").value, Value::Num(-1.0));
    assert_eq!(
        one(Runs, "start_time >= 1700000000123").value,
        Value::Num(1_700_000_000_123.0)
    );
    assert_err(
        Runs,
        "metrics.m > 1abc",
        "Expected numeric value type for metric. Found 1abc",
    );
    assert_err(
        Runs,
        "metrics.m > 1e",
        "Expected numeric value type for metric. Found 1e",
    );
}

// ---- quoting ---------------------------------------------------------------------------

#[test]
fn string_values_are_kept_verbatim_between_quotes() {
    let value = |f: &str| one(Runs, f).value;
    assert_eq!(value("params.m = 'LR'"), s("LR"));
    assert_eq!(value("params.m = \"LR\""), s("LR"));
    assert_eq!(value("params.m = \"L'Hosp\""), s("L'Hosp"));
    assert_eq!(value("params.m = 'say \"hi\"'"), s("say \"hi\""));
    // As in MLflow, doubled quotes and backslash escapes delimit but are not unescaped.
    assert_eq!(value("params.m = 'it''s'"), s("it''s"));
    assert_eq!(value("params.m = 'a\\'b'"), s("a\\'b"));
    assert_eq!(value("params.m = \"a\"\"b\""), s("a\"\"b"));
    assert_eq!(value("params.m = ''"), s(""));
    assert_eq!(value("params.m = ''''"), s("''"));
    // A trailing backslash still closes the string (sqlparse backtracks the same way).
    assert_eq!(value("params.m = 'C:\\'"), s("C:\\"));
    assert_eq!(value("params.m = 'x\\\\'"), s("x\\\\"));
    assert_eq!(
        value("params.m = 'a AND b = 1 OR c'"),
        s("a AND b = 1 OR c")
    );
    assert_eq!(value("params.m = '%_%'"), s("%_%"));
}

#[test]
fn list_items_are_read_as_python_literals() {
    let value = |f: &str| one(Runs, f).value;
    assert_eq!(value("run_id IN ('a')"), list(&["a"]));
    assert_eq!(
        value("run_id IN (\"a\", 'b' ,\n'c',)"),
        list(&["a", "b", "c"])
    );
    assert_eq!(
        value("run_id IN ('it\\'s', \"q\\\"\")"),
        list(&["it's", "q\""])
    );
    assert_eq!(value("run_id IN ('a' 'b')"), list(&["ab"]));
    assert_eq!(value("run_id IN ('a''b')"), list(&["ab"]));
    assert_eq!(value("run_id IN ('a,b', 'c)')"), list(&["a,b", "c)"]));
    assert_eq!(value("run_id IN ('x\\ny')"), list(&["x\ny"]));
}

#[test]
fn quoted_keys() {
    assert_eq!(one(Runs, "tags.\"a b\" = 'x'").key, tag("a b"));
    assert_eq!(one(Runs, "tags.`a b` = 'x'").key, tag("a b"));
    assert_eq!(one(Runs, "tags.`a.b`.c = 'x'").key, tag("`a.b`.c"));
    assert_eq!(one(Runs, "tags.`a``b` = 'x'").key, tag("a``b"));
    assert_eq!(
        one(Runs, "tags.\"key with 'quote'\" = 'x'").key,
        tag("key with 'quote'")
    );
    assert_eq!(
        one(Runs, "metrics.`a=b AND c` > 1").key,
        metric("a=b AND c")
    );
    assert_eq!(one(Runs, "params.\"a;b\" = 'x'").key, param("a;b"));
}

#[test]
fn unicode_keys_and_values() {
    assert_eq!(
        one(Runs, "tags.ключ = 'значение'"),
        clause(tag("ключ"), C::Eq, s("значение"))
    );
    assert_eq!(one(Runs, "params.学习率 = '0.1'").key, param("学习率"));
    assert_eq!(
        one(Runs, "tags.`🚀 launch` = '✓'"),
        clause(tag("🚀 launch"), C::Eq, s("✓"))
    );
    assert_eq!(
        one(RegisteredModels, "name LIKE '%é日本🙂%'").value,
        s("%é日本🙂%")
    );
    assert_eq!(
        one(Runs, "run_id IN ('é', '日本')").value,
        list(&["é", "日本"])
    );
    assert_err(Runs, "tags.🚀 = 'x'", "Invalid clause(s)");
    assert_err(
        Runs,
        "tags.a = 'x' ✓",
        "Invalid clause(s) in filter string: '✓'",
    );
    assert_err(Runs, "ключ = 'x'", "Invalid attribute key 'ключ'");
}

// ---- experiments -----------------------------------------------------------------------

#[test]
fn experiments_accepted() {
    let cases: Vec<(&str, Clause)> = vec![
        (
            "name = 'alpha-one'",
            clause(attr("name"), C::Eq, s("alpha-one")),
        ),
        (
            "attribute.name = \"beta-one\"",
            clause(attr("name"), C::Eq, s("beta-one")),
        ),
        (
            "attributes.name ILIKE 'a%'",
            clause(attr("name"), C::ILike, s("a%")),
        ),
        (
            "name LIKE 'alpha-t_o'",
            clause(attr("name"), C::Like, s("alpha-t_o")),
        ),
        (
            "creation_time >= 1700000000000",
            clause(attr("creation_time"), C::Ge, Value::Num(1.7e12)),
        ),
        (
            "last_update_time != 5",
            clause(attr("last_update_time"), C::Ne, Value::Num(5.0)),
        ),
        (
            "experiment_id = '3'",
            clause(attr("experiment_id"), C::Eq, s("3")),
        ),
        (
            "experiment_id IN ('1', '2')",
            clause(attr("experiment_id"), C::In, list(&["1", "2"])),
        ),
        (
            "experiment_id NOT IN ('0')",
            clause(attr("experiment_id"), C::NotIn, list(&["0"])),
        ),
        (
            "tags.team = 'vision'",
            clause(tag("team"), C::Eq, s("vision")),
        ),
        ("tag.team != 'nlp'", clause(tag("team"), C::Ne, s("nlp"))),
        (
            "tags.`stage` = 'dev'",
            clause(tag("stage"), C::Eq, s("dev")),
        ),
        (
            "tag.key1 IS NOT NULL",
            clause(tag("key1"), C::IsNotNull, Value::Null),
        ),
        (
            "tag.key2 IS NULL",
            clause(tag("key2"), C::IsNull, Value::Null),
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(one(Experiments, filter), expected, "{filter:?}");
    }
    assert_eq!(
        ok(Experiments, "tags.team = 'vision' and name = 'tag-b'").len(),
        2
    );
}

#[test]
fn experiments_errors() {
    for (filter, needle) in [
        (
            "metrics.a > 1",
            "Invalid entity type 'metrics'. Valid entity types are ('attribute', 'attributes', 'tag', 'tags')",
        ),
        ("`tag`.a = 'x'", "Invalid entity type '`tag`'"),
        (
            "lifecycle_stage = 'active'",
            "Invalid attribute key 'lifecycle_stage' specified. Valid keys are '{",
        ),
        (
            "name IS NULL",
            "IS NULL / IS NOT NULL is only supported for tags, not for attribute 'name'",
        ),
        (
            "name IN ('a')",
            "Only the 'experiment_id' attribute supports comparison with a list",
        ),
        (
            "name > 'a'",
            "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'",
        ),
        (
            "experiment_id LIKE '1%'",
            "Invalid comparator 'LIKE' not one of '{'=', '!=', 'IN', 'NOT IN'}'",
        ),
        (
            "experiment_id = 1",
            "Expected a quoted string value for attributes. Got value 1",
        ),
        (
            "creation_time > 'yesterday'",
            "Expected numeric value type for numeric attribute: creation_time",
        ),
        ("creation_time LIKE 1", "Invalid comparator 'LIKE'"),
        ("tags.a > 'x'", "Invalid comparator '>'"),
        (
            "name = 'a' OR name = 'b'",
            "Invalid clause(s) in filter string: OR",
        ),
    ] {
        assert_err(Experiments, filter, needle);
    }
}

// ---- registered models -----------------------------------------------------------------

#[test]
fn registered_models_accepted() {
    let cases: Vec<(&str, Clause)> = vec![
        ("name = 'm'", clause(attr("name"), C::Eq, s("m"))),
        (
            "attribute.name LIKE 'm%'",
            clause(attr("name"), C::Like, s("m%")),
        ),
        ("name ilike '%M'", clause(attr("name"), C::ILike, s("%M"))),
        ("tags.k = 'v'", clause(tag("k"), C::Eq, s("v"))),
        (
            "tag.`mlflow.prompt.is_prompt` != 'true'",
            clause(tag("mlflow.prompt.is_prompt"), C::Ne, s("true")),
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(one(RegisteredModels, filter), expected, "{filter:?}");
    }
    // What every MlflowClient.search_registered_models call sends.
    let clauses = ok(
        RegisteredModels,
        "name LIKE '%x%' AND tag.`mlflow.prompt.is_prompt` != 'true'",
    );
    assert_eq!(clauses.len(), 2);
}

#[test]
fn registered_models_errors() {
    for (filter, needle) in [
        (
            "creation_timestamp > 1",
            "Invalid attribute key 'creation_timestamp' specified. Valid keys are '{'name'}'",
        ),
        (
            "params.a = 'x'",
            "Invalid entity type 'params'. Valid entity types are ('attribute', 'tag', 'tags')",
        ),
        ("attributes.name = 'x'", "Invalid entity type 'attributes'"),
        (
            "tags.k IS NULL",
            "IS NULL / IS NOT NULL is not supported for registered model search.",
        ),
        (
            "name IS NOT NULL",
            "IS NULL / IS NOT NULL is not supported for registered model search.",
        ),
        (
            "name IN ('a', 'b')",
            "Only the 'run_id' attribute supports comparison with a list",
        ),
        (
            "name = 1",
            "Expected a quoted string value or a list of quoted string values for attributes. Got value 1",
        ),
        (
            "tags.k = 1",
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1",
        ),
        ("tags.k > 'a'", "Invalid comparator '>'"),
        ("name = 'a' OR 1=1", "Invalid clause(s) in filter string"),
    ] {
        assert_err(RegisteredModels, filter, needle);
    }
}

// ---- model versions --------------------------------------------------------------------

#[test]
fn model_versions_accepted() {
    let cases: Vec<(&str, Clause)> = vec![
        ("name = 'm'", clause(attr("name"), C::Eq, s("m"))),
        (
            "name IN ('a', 'b')",
            clause(attr("name"), C::In, list(&["a", "b"])),
        ),
        (
            "run_id NOT IN ('r1')",
            clause(attr("run_id"), C::NotIn, list(&["r1"])),
        ),
        (
            "run_id LIKE 'ab%'",
            clause(attr("run_id"), C::Like, s("ab%")),
        ),
        (
            "source_path = 's3://b/p'",
            clause(attr("source_path"), C::Eq, s("s3://b/p")),
        ),
        (
            "attribute.source_path ILIKE '%model%'",
            clause(attr("source_path"), C::ILike, s("%model%")),
        ),
        (
            "version_number = 3",
            clause(attr("version_number"), C::Eq, Value::Num(3.0)),
        ),
        (
            "version_number >= 2.0",
            clause(attr("version_number"), C::Ge, Value::Num(2.0)),
        ),
        (
            "version_number < '7'",
            clause(attr("version_number"), C::Lt, Value::Num(7.0)),
        ),
        ("tags.k != 'v'", clause(tag("k"), C::Ne, s("v"))),
    ];
    for (filter, expected) in cases {
        assert_eq!(one(ModelVersions, filter), expected, "{filter:?}");
    }
    let clauses = ok(
        ModelVersions,
        "name='m' AND version_number=1 AND tags.`mlflow.prompt.is_prompt` != 'true'",
    );
    assert_eq!(clauses.len(), 3);
}

#[test]
fn model_versions_errors() {
    for (filter, needle) in [
        (
            "current_stage = 'Production'",
            "Invalid attribute key 'current_stage' specified. Valid keys are '{",
        ),
        (
            "version_number = 1.5",
            "Invalid value for numeric attribute 'version_number': 1.5",
        ),
        (
            "version_number = 'abc'",
            "Invalid value for numeric attribute 'version_number': abc",
        ),
        (
            "version_number = 1e999",
            "Invalid value for numeric attribute 'version_number'",
        ),
        ("version_number LIKE 1", "Invalid comparator 'LIKE'"),
        (
            "version_number IN ('1')",
            "Only the 'name' and 'run_id' attributes support comparison with a list",
        ),
        (
            "source_path IN ('a')",
            "Only the 'name' and 'run_id' attributes support comparison with a list",
        ),
        (
            "name = 3",
            "attributes support comparison with numeric values",
        ),
        ("source_path > 'a'", "Invalid comparator '>'"),
        (
            "tags.k IS NULL",
            "IS NULL / IS NOT NULL is not supported for model version search.",
        ),
        (
            "metrics.a > 1",
            "Invalid entity type 'metrics'. Valid entity types are ('attribute', 'tag', 'tags')",
        ),
    ] {
        assert_err(ModelVersions, filter, needle);
    }
}

// ---- logged models ---------------------------------------------------------------------

#[test]
fn logged_models_accepted() {
    let cases: Vec<(&str, Clause)> = vec![
        ("name = 'model'", clause(attr("name"), C::Eq, s("model"))),
        (
            "model_id IN ('m-1', 'm-2')",
            clause(attr("model_id"), C::In, list(&["m-1", "m-2"])),
        ),
        (
            "status NOT IN ('FAILED')",
            clause(attr("status"), C::NotIn, list(&["FAILED"])),
        ),
        (
            "source_run_id = 'r'",
            clause(attr("source_run_id"), C::Eq, s("r")),
        ),
        (
            "attributes.model_type LIKE 'sk%'",
            clause(attr("model_type"), C::Like, s("sk%")),
        ),
        (
            "creation_time > 5",
            clause(attr("creation_timestamp"), C::Gt, Value::Num(5.0)),
        ),
        (
            "creation_timestamp > 5",
            clause(attr("creation_timestamp"), C::Gt, Value::Num(5.0)),
        ),
        (
            "last_updated_time <= 9",
            clause(attr("last_updated_timestamp"), C::Le, Value::Num(9.0)),
        ),
        (
            "metrics.accuracy > 0.9",
            clause(metric("accuracy"), C::Gt, Value::Num(0.9)),
        ),
        ("params.lr = '0.1'", clause(param("lr"), C::Eq, s("0.1"))),
        ("tags.env = 'prod'", clause(tag("env"), C::Eq, s("prod"))),
    ];
    for (filter, expected) in cases {
        assert_eq!(one(LoggedModels, filter), expected, "{filter:?}");
    }
}

#[test]
fn logged_models_errors() {
    for (filter, needle) in [
        (
            "experiment_id = '1'",
            "Invalid attribute key 'experiment_id' specified",
        ),
        (
            "datasets.name = 'd'",
            "Invalid entity type 'datasets'. Valid values are ['metric', 'parameter', 'tag', 'attribute']",
        ),
        (
            "tags.env IS NULL",
            "IS NULL / IS NOT NULL is not supported for logged model search.",
        ),
        (
            "metrics.accuracy = 'high'",
            "Expected numeric value type for metric",
        ),
        (
            "creation_time = 'now'",
            "Expected numeric value type for numeric attribute: creation_time",
        ),
        (
            "name = 1",
            "Expected a quoted string value for attributes. Got value 1",
        ),
        (
            "name = 'a' OR name = 'b'",
            "Invalid clause(s) in filter string: 'OR'",
        ),
    ] {
        assert_err(LoggedModels, filter, needle);
    }
}

// ---- order_by --------------------------------------------------------------------------

#[test]
fn runs_order_by() {
    assert_eq!(
        order_one(Runs, "metrics.loss DESC"),
        (metric("loss"), false)
    );
    assert_eq!(
        order_one(Runs, "metrics.`Mean Square Error`"),
        (metric("Mean Square Error"), true)
    );
    assert_eq!(
        order_one(Runs, "metrics.`Mean Square Error` ASC"),
        (metric("Mean Square Error"), true)
    );
    assert_eq!(
        order_one(Runs, "metrics.`Mean Square Error` DESC"),
        (metric("Mean Square Error"), false)
    );
    assert_eq!(
        order_one(Runs, "metrics.\"key1\"  desc"),
        (metric("key1"), false)
    );
    assert_eq!(
        order_one(Runs, "params.my_param aSc"),
        (param("my_param"), true)
    );
    assert_eq!(
        order_one(Runs, "params.`my_param` DESC"),
        (param("my_param"), false)
    );
    assert_eq!(order_one(Runs, "tags.`x y` ASC"), (tag("x y"), true));
    assert_eq!(
        order_one(Runs, "tags.mlflow.runName"),
        (tag("mlflow.runName"), true)
    );
    assert_eq!(
        order_one(Runs, "attributes.start_time"),
        (attr("start_time"), true)
    );
    assert_eq!(order_one(Runs, "start_time"), (attr("start_time"), true));
    assert_eq!(order_one(Runs, "created DESC"), (attr("start_time"), false));
    assert_eq!(order_one(Runs, "Created"), (attr("start_time"), true));
    for a in [
        "artifact_uri",
        "end_time",
        "run_id",
        "run_name",
        "status",
        "user_id",
    ] {
        assert_eq!(order_one(Runs, a), (attr(a), true));
    }
    assert_eq!(order(Runs, &[]).unwrap(), vec![]);
    let both = order(Runs, &["params.p", "attributes.status DESC"]).unwrap();
    assert_eq!(both.len(), 2);
    assert!(!both[1].ascending);
}

#[test]
fn runs_order_by_errors() {
    for (entry, needle) in [
        ("m.acc", "Invalid entity type"),
        ("acc", "Invalid attribute key"),
        ("attri.x", "Invalid entity type"),
        (
            "`metrics.A",
            "Invalid order_by clause '`metrics.A'. Could not be parsed.",
        ),
        ("`metrics.A`", "Invalid entity type"),
        ("attribute.start", "Invalid attribute key"),
        ("attribute.experiment_id", "Invalid attribute key"),
        (
            "run name",
            "Invalid ordering key in order_by clause 'run name'.",
        ),
        ("metrics.A != 1", "Could not be parsed"),
        ("params.my_param ", "Could not be parsed"),
        (" params.my_param", "Could not be parsed"),
        ("", "Invalid order_by clause ''. Could not be parsed."),
        (
            "attribute.run_id ACS",
            "Invalid ordering key in order_by clause 'attribute.run_id ACS'.",
        ),
        ("attribute.run_id decs", "Invalid ordering key"),
        ("name DESC blah", "Could not be parsed"),
        ("name; DROP TABLE x", "Could not be parsed"),
        ("metrics.a, metrics.b", "Could not be parsed"),
        ("datasets.name", "Invalid identifier type 'dataset'"),
    ] {
        order_err(Runs, entry, needle);
    }
}

#[test]
fn experiments_order_by() {
    assert_eq!(order_one(Experiments, "name ASC"), (attr("name"), true));
    assert_eq!(order_one(Experiments, "name"), (attr("name"), true));
    assert_eq!(order_one(Experiments, "name DESC"), (attr("name"), false));
    assert_eq!(
        order_one(Experiments, "creation_time ASC"),
        (attr("creation_time"), true)
    );
    assert_eq!(
        order_one(Experiments, "attribute.last_update_time"),
        (attr("last_update_time"), true)
    );
    assert_eq!(
        order_one(Experiments, "experiment_id DESC"),
        (attr("experiment_id"), false)
    );
    order_err(
        Experiments,
        "lifecycle_stage",
        "Invalid attribute key 'lifecycle_stage' specified",
    );
    order_err(Experiments, "tags.a", "Invalid order_by entity: tag");
    order_err(Experiments, "metrics.a", "Invalid entity type 'metrics'");
}

#[test]
fn registered_models_order_by() {
    assert_eq!(order_one(RegisteredModels, "name"), (attr("name"), true));
    assert_eq!(
        order_one(RegisteredModels, "name DESC"),
        (attr("name"), false)
    );
    assert_eq!(
        order_one(RegisteredModels, "timestamp DESC"),
        (attr("last_updated_timestamp"), false)
    );
    assert_eq!(
        order_one(RegisteredModels, "last_updated_timestamp"),
        (attr("last_updated_timestamp"), true)
    );
    for (entry, needle) in [
        (
            "creation_timestamp DESC",
            "Invalid order by key 'creation_timestamp' specified. Valid keys are '{'name', 'timestamp'}'",
        ),
        ("bogus", "Invalid order by key 'bogus' specified"),
        ("attribute.name", "Invalid order by key"),
        (
            "last_updated_timestamp DESC blah",
            "Invalid order_by clause",
        ),
        ("", "Invalid order_by clause"),
        ("timestamp somerandomstuff ASC", "Invalid order_by clause"),
        ("timestamp somerandomstuff", "Invalid order_by clause"),
        ("timestamp decs", "Invalid order_by clause"),
        ("timestamp ACS", "Invalid order_by clause"),
        ("name aCs", "Invalid ordering key"),
    ] {
        order_err(RegisteredModels, entry, needle);
    }
    let dup = order(RegisteredModels, &["name", "name DESC"]).unwrap_err();
    assert!(
        dup.contains("`order_by` contains duplicate fields"),
        "{dup}"
    );
    let dup = order(RegisteredModels, &["timestamp", "last_updated_timestamp"]).unwrap_err();
    assert!(
        dup.contains("`order_by` contains duplicate fields"),
        "{dup}"
    );
    assert_eq!(
        order(RegisteredModels, &["name", "timestamp DESC"])
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn model_versions_order_by() {
    assert_eq!(order_one(ModelVersions, "name"), (attr("name"), true));
    assert_eq!(
        order_one(ModelVersions, "version_number DESC"),
        (attr("version_number"), false)
    );
    assert_eq!(
        order_one(ModelVersions, "creation_timestamp"),
        (attr("creation_timestamp"), true)
    );
    assert_eq!(
        order_one(ModelVersions, "last_updated_timestamp ASC"),
        (attr("last_updated_timestamp"), true)
    );
    order_err(
        ModelVersions,
        "timestamp",
        "Invalid attribute key 'timestamp' specified",
    );
    order_err(ModelVersions, "run_id", "Invalid attribute key");
    order_err(ModelVersions, "tags.k", "Invalid order_by entity: tag");
}

#[test]
fn logged_models_order_field() {
    let field = |f: &str| validate_logged_model_order_field(f).map_err(|e| e.0);
    assert_eq!(field("name"), Ok(attr("name")));
    assert_eq!(field("creation_time"), Ok(attr("creation_timestamp")));
    assert_eq!(
        field("last_updated_time"),
        Ok(attr("last_updated_timestamp"))
    );
    assert_eq!(
        field(" creation_timestamp "),
        Ok(attr("creation_timestamp"))
    );
    assert_eq!(field("metrics.accuracy"), Ok(metric("accuracy")));
    assert_eq!(field("metrics.a.b"), Ok(metric("a.b")));
    assert_eq!(
        field("x"),
        Err("Invalid order by field name: x.".to_owned())
    );
    assert_eq!(
        field("params.lr"),
        Err("Invalid order by field name: params, only `metrics.<name>` is allowed.".to_owned())
    );
    assert!(field("metrics.").is_err());
    assert!(field(&"n".repeat(5000)).is_err());
    // The string form is also accepted for logged models.
    assert_eq!(
        order_one(LoggedModels, "metrics.acc DESC"),
        (metric("acc"), false)
    );
    order_err(LoggedModels, "bogus", "Invalid order by field name: bogus.");
}

#[test]
fn order_by_limits() {
    let many: Vec<String> = (0..101).map(|_| "name".to_owned()).collect();
    let e = parse_order_by(Experiments, &many).unwrap_err();
    assert!(e.0.contains("Too many order_by clauses"), "{e}");
    order_err(
        Runs,
        &format!("metrics.{}", "a".repeat(2000)),
        "Could not be parsed",
    );
}

// ---- limits and robustness -------------------------------------------------------------

#[test]
fn size_limits() {
    let long = format!("name = '{}'", "x".repeat(MAX_FILTER_BYTES));
    assert!(err(RegisteredModels, &long).contains("Search filter is too long"));

    let clauses = |n: usize| vec!["tags.a = 'x'"; n].join(" AND ");
    assert_eq!(ok(Runs, &clauses(MAX_CLAUSES)).len(), MAX_CLAUSES);
    assert!(err(Runs, &clauses(MAX_CLAUSES + 1)).contains("too many clauses"));

    // Deep nesting and long runs of one character stay linear and iterative.
    let deep = format!("run_id IN {}", "(".repeat(60_000));
    assert_err(Runs, &deep, "Invalid clause(s)");
    let nested = format!("run_id IN {}'a'{}", "(".repeat(30_000), ")".repeat(30_000));
    assert_err(Runs, &nested, "ill-formed list");
    assert_err(Runs, &"'".repeat(60_000), "Expected 'Identifier' found");
    assert_err(Runs, &"'".repeat(60_001), "Invalid clause(s)");
    assert_err(Runs, &"\\".repeat(60_000), "Invalid clause(s)");
    assert_err(Runs, &"a".repeat(60_000), "Invalid clause(s)");
    // Echoed input is clipped.
    let message = err(Runs, &format!("tags.a = 'x' OR {}", "z".repeat(10_000)));
    assert!(message.len() < 400, "{}", message.len());
}

/// xorshift64*: a deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FRAGMENTS: &[&str] = &[
    "metrics.",
    "params.",
    "tags.",
    "attributes.",
    "datasets.",
    "tag.",
    "`",
    "\"",
    "'",
    "''",
    "\\",
    "(",
    ")",
    ",",
    ".",
    ";",
    " ",
    "\t",
    "\n",
    "AND",
    "and",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "LIKE",
    "ILIKE",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "~",
    "-",
    "+",
    "1",
    "0.5",
    "-3",
    "1e9",
    "1e",
    ".",
    "name",
    "run_id",
    "version_number",
    "status",
    "start_time",
    "created",
    "experiment_id",
    "creation_time",
    "source_path",
    "timestamp",
    "asc",
    "DESC",
    "é",
    "日本",
    "🙂",
    "\u{301}",
    "\u{200b}",
    "\u{0}",
    "ß",
    "İ",
    "--",
    "/*",
    "%",
    "_",
    "x",
];

const SEEDS: &[&str] = &[
    "metrics.acc >= 0.94 AND params.m = 'LR'",
    "tags.`a b` IS NOT NULL and run_id IN ('a', 'b')",
    "name LIKE 'x%' AND tag.`mlflow.prompt.is_prompt` != 'true'",
    "version_number >= 2 AND source_path = 's3://b/k'",
    "creation_time > 1700000000000 AND experiment_id NOT IN ('1',)",
    "datasets.name = 'd' AND attributes.status != \"FAILED\"",
    "params.\"x.y\" = 'it''s' AND metrics.\"日本\" < -1.5e3",
];

fn exercise(input: &str) {
    for kind in ALL_KINDS {
        if let Err(e) = parse_filter(kind, input) {
            assert!(!e.0.is_empty());
        }
        let _ = parse_order_by(kind, &[input.to_owned()]);
    }
    let _ = validate_logged_model_order_field(input);
}

#[test]
fn generated_and_mutated_inputs_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let n = 1 + rng.below(12);
        let generated: String = (0..n).map(|_| rng.pick(FRAGMENTS)).collect();
        exercise(&generated);

        let mut chars: Vec<char> = rng.pick(SEEDS).chars().collect();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(chars.len() + 1);
            match rng.below(3) {
                0 if at < chars.len() => {
                    chars[at] = rng.pick(FRAGMENTS).chars().next().unwrap_or('x');
                }
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                _ => {
                    let insert: Vec<char> = rng.pick(FRAGMENTS).chars().collect();
                    chars.splice(at..at, insert);
                }
            }
        }
        let mutated: String = chars.into_iter().collect();
        exercise(&mutated);
        // Truncations at every char boundary of a seed.
        let seed = rng.pick(SEEDS);
        let cut = seed
            .char_indices()
            .nth(rng.below(seed.chars().count()))
            .map_or(0, |(i, _)| i);
        exercise(&seed[..cut]);
    }
}

#[test]
fn seeds_are_valid_somewhere() {
    // Keeps the fuzz seeds honest: each parses for at least one kind.
    for seed in SEEDS {
        assert!(
            ALL_KINDS.iter().any(|&k| parse_filter(k, seed).is_ok()),
            "{seed:?} parses for no kind"
        );
    }
}
