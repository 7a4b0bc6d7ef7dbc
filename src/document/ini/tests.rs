use super::*;
use crate::crypto::{DataKey, Rule, ValueCipher, decrypt_leaves, encrypt_leaves};
use crate::document::Plaintext;
use crate::document::metadata::{AgeKey, KeyGroup, Metadata, RuleKind};
use zeroize::Zeroizing;

fn sample_meta() -> MetaValue {
    Metadata {
        key_groups: vec![KeyGroup {
            age: vec![AgeKey {
                recipient: "age1qqq".into(),
                enc: "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"
                    .into(),
            }],
            pgp: vec![],
            vault: vec![],
            kms: vec![],
            others: vec![],
        }],
        shamir_threshold: 0,
        lastmodified: "2026-01-01T00:00:00Z".into(),
        mac: "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]".into(),
        rule: Some((RuleKind::UnencryptedRegex, "^(public|x;y)".into())),
        mac_only_encrypted: true,
        version: "3.11.0".into(),
    }
    .to_meta()
}

/// Encrypt, read back (metadata included), decrypt; returns the encrypted text.
fn encrypt_decrypt(plain: &str) -> (String, String) {
    let doc = IniDocument::parse(plain).unwrap();
    assert!(doc.metadata().is_none());
    let cipher = ValueCipher::new(&DataKey::generate());
    let rule = Rule::default();
    let mut enc = encrypt_leaves(doc.leaves(), &cipher, &rule, false).unwrap();
    let encrypted =
        String::from_utf8(doc.render(&mut enc.edits, Some(&sample_meta())).unwrap()).unwrap();
    let doc2 = IniDocument::parse(&encrypted).unwrap();
    let meta = Metadata::from_meta(doc2.metadata().unwrap()).unwrap();
    assert_eq!(meta, Metadata::from_meta(&sample_meta()).unwrap());
    let mut dec = decrypt_leaves(doc2.leaves(), &cipher, &rule, false).unwrap();
    assert_eq!(*dec.mac, *enc.mac);
    let back = String::from_utf8(doc2.render(&mut dec.edits, None).unwrap()).unwrap();
    (encrypted, back)
}

fn round_trip(plain: &str) -> String {
    let (encrypted, back) = encrypt_decrypt(plain);
    assert_eq!(back, plain);
    encrypted
}

const PHP_INI: &str = "[PHP]\n; About php.ini\nengine = On\nprecision    =  14   \n; Default Value: Off\nerror_reporting = E_ALL & ~E_DEPRECATED ; inline\ninclude_path = \".:/usr/share/php\"\nuser_agent='PHP/8.2 (compatible)'\npassword_unencrypted = visible\nempty =\n\n[mail function]\nSMTP = localhost\nmail.log = \"/var/log/php mail.log\"\r\n\n[Session]\nurl_rewriter.tags = \"a=href,area=href\"\nmulti = \"\"\"line one\nline two\"\"\"\nraw = `a;b # c`\n";

const SYSTEMD: &str = "[Unit]\nDescription=Example daemon (with secrets)\nAfter=network-online.target\n\n[Service]\nType=simple\nEnvironment=DB_PASSWORD=hunter2\nExecStart=/usr/bin/exampled --config /etc/exampled.conf\n# hardening\nProtectSystem=strict\n\n[Install]\nWantedBy=multi-user.target";

#[test]
fn values_are_read_as_ini_v1_reads_them() {
    let doc = IniDocument::parse(PHP_INI).unwrap();
    let get = |s: &str, k: &str| match &doc
        .leaves()
        .iter()
        .find(|l| l.path == [s, k])
        .unwrap_or_else(|| panic!("{s}.{k}"))
        .value
    {
        Value::Str(v) => v.clone(),
        _ => panic!(),
    };
    assert_eq!(get("PHP", "precision"), "14");
    assert_eq!(get("PHP", "error_reporting"), "E_ALL & ~E_DEPRECATED");
    assert_eq!(get("PHP", "include_path"), ".:/usr/share/php");
    assert_eq!(get("PHP", "user_agent"), "PHP/8.2 (compatible)");
    assert_eq!(get("PHP", "empty"), "");
    assert_eq!(get("mail function", "mail.log"), "/var/log/php mail.log");
    assert_eq!(get("Session", "multi"), "line one\nline two");
    assert_eq!(get("Session", "raw"), "a;b # c");
    assert_eq!(
        doc.leaves()
            .iter()
            .find(|l| l.path == ["Session", "multi"])
            .unwrap()
            .line,
        18
    );

    let doc = IniDocument::parse("top = 1\nurl = http://x#frag\nq = \"a ; b\"\ncont = first \\\n   second \\\n third\nnext: x\nk=\"\"\"\nbody\n\"\"\"\n").unwrap();
    let values: Vec<_> = doc
        .leaves()
        .iter()
        .map(|l| {
            (
                l.path.join("."),
                if let Value::Str(s) = &l.value {
                    s.clone()
                } else {
                    panic!()
                },
            )
        })
        .collect();
    assert_eq!(
        values,
        [
            ("DEFAULT.top".into(), "1".into()),
            ("DEFAULT.url".into(), "http://x".into()),
            ("DEFAULT.q".into(), "\"a".into()),
            ("DEFAULT.cont".into(), "first second third".into()),
            ("DEFAULT.next".into(), "x".into()),
            ("DEFAULT.k".into(), "\nbody\n".into()),
        ]
    );
}

#[test]
fn realistic_files_round_trip_byte_for_byte() {
    let enc = round_trip(PHP_INI);
    assert!(enc.contains("\nengine = ENC[AES256_GCM,data:"), "{enc}");
    assert!(enc.contains("\nprecision    =  ENC[AES256_GCM,"), "{enc}");
    assert!(enc.contains(",type:str] ; inline\n"), "{enc}");
    assert!(enc.contains("\ninclude_path = \"ENC[AES256_GCM,"), "{enc}");
    assert!(enc.contains("\nuser_agent='ENC[AES256_GCM,"), "{enc}");
    assert!(enc.contains("\nmulti = \"\"\"ENC[AES256_GCM,"), "{enc}");
    assert!(enc.contains("\npassword_unencrypted = visible\n"));
    assert!(
        enc.contains("\n; About php.ini\n"),
        "plaintext comments stay as they are"
    );
    round_trip(SYSTEMD);
    round_trip("");
    round_trip("\n");
    round_trip("k = v\n\n\n");
    round_trip("; only a comment");
}

#[test]
fn continuation_lines_decrypt_joined() {
    let (_, back) = encrypt_decrypt("[a]\ncont = first \\\n  second\nnext = x\n");
    assert_eq!(back, "[a]\ncont = first second\nnext = x\n");
}

#[test]
fn metadata_is_a_final_aligned_section_and_its_removal_is_exact() {
    let enc = round_trip("[a]\nk = v");
    assert!(enc.starts_with("[a]\nk = ENC["), "{enc}");
    assert!(enc.contains(",type:str]\n[sops]\nage__list_0__map_recipient = age1qqq\nage__list_0__map_enc       = -----BEGIN AGE ENCRYPTED FILE-----\\nYWdl\\n"), "{enc}");
    // A value ini.v1 would cut at `;` is quoted.
    assert!(
        enc.contains("\nunencrypted_regex          = `^(public|x;y)`\n"),
        "{enc}"
    );
    assert!(
        enc.ends_with("\nversion                    = 3.11.0\n"),
        "{enc}"
    );
    let enc = round_trip("[a]\nk = v\n");
    assert!(enc.contains(",type:str]\n\n[sops]\n"), "{enc}");
    // A sops-written section in the middle is removed with its blank line.
    let doc = IniDocument::parse("[a]\nk = v\n\n[sops]\nversion = 3.11.0\n\n[b]\nx = y\n").unwrap();
    assert_eq!(
        doc.metadata()
            .unwrap()
            .get("version")
            .and_then(MetaValue::as_str),
        Some("3.11.0")
    );
    assert_eq!(doc.leaves().len(), 2);
    assert_eq!(
        doc.render(&mut Vec::<Option<Replacement>>::new(), None)
            .unwrap(),
        b"[a]\nk = v\n\n[b]\nx = y\n"
    );
}

fn plaintext(kind: ValueType, text: &str) -> Option<Replacement> {
    Some(Replacement::Decrypted(Plaintext {
        kind,
        bytes: Zeroizing::new(text.as_bytes().to_vec()),
    }))
}

#[test]
fn sops_encrypted_comments_and_values_decrypt_in_place() {
    // As sops writes it: comments as `; ENC[...]` lines, values bare.
    let src = "; ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:comment]\n[s]\n; ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:comment]\na = ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nb = ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nc = ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n";
    let doc = IniDocument::parse(src).unwrap();
    let comments: Vec<_> = doc
        .leaves()
        .iter()
        .filter(|l| l.comment)
        .map(|l| l.path.clone())
        .collect();
    assert_eq!(comments, [vec!["s".to_string()], vec!["s".to_string()]]);
    let mut edits = vec![
        plaintext(ValueType::Comment, "section comment"),
        plaintext(ValueType::Comment, "two\n; lines"),
        plaintext(ValueType::Str, "a;b"),
        plaintext(ValueType::Str, "multi\nline"),
        plaintext(ValueType::Str, " padded "),
    ];
    let out = String::from_utf8(doc.render(&mut edits, None).unwrap()).unwrap();
    assert_eq!(
        out,
        "; section comment\n[s]\n; two\n; lines\na = `a;b`\nb = \"\"\"multi\nline\"\"\"\nc = \" padded \"\n"
    );
    let back = IniDocument::parse(&out).unwrap();
    let values: Vec<_> = back
        .leaves()
        .iter()
        .map(|l| {
            if let Value::Str(s) = &l.value {
                s.clone()
            } else {
                panic!()
            }
        })
        .collect();
    assert_eq!(values, ["a;b", "multi\nline", " padded "]);
}

#[test]
fn errors_point_at_lines_without_quoting_the_input() {
    let canary = "hunter2-secret";
    let cases = [
        (format!("[a]\nk = v\n{canary}\n"), 3, "expected key = value"),
        (format!("[a]\n  [{canary}\n"), 2, "not closed"),
        (format!("[a]\nk = \"\"\"{canary}\nmore\n"), 2, "not closed"),
        (
            format!("[a]\nk = {canary}\nk = 2\n"),
            3,
            "duplicate key [\"a\"][\"k\"]",
        ),
        ("[]\n".to_string(), 1, "empty section name"),
        (" = x\n".to_string(), 1, "empty key name"),
    ];
    for (text, line, needle) in cases {
        let Err(Error::Syntax {
            line: l, message, ..
        }) = IniDocument::parse(&text)
        else {
            panic!("{text}")
        };
        assert_eq!(l, line, "{text}: {message}");
        assert!(message.contains(needle), "{message}");
        assert!(!message.contains("hunter"), "{message}");
    }
    // The same key in a repeated section is another section's key.
    IniDocument::parse("[a]\nk = 1\n[a]\nk = 2\n").unwrap();
}

#[test]
fn trees_load_and_emit_as_sections() {
    let root = load_tree("top = 1\n[a]\nk = v\n; c\n[b]\nx = `y;z`\n[a]\nk = w\n").unwrap();
    assert_eq!(
        root,
        Node::Map(vec![
            (
                "DEFAULT".into(),
                Node::Map(vec![("top".into(), Node::Str("1".into()))])
            ),
            (
                "a".into(),
                Node::Map(vec![("k".into(), Node::Str("v".into()))])
            ),
            (
                "b".into(),
                Node::Map(vec![("x".into(), Node::Str("y;z".into()))])
            ),
            (
                "a".into(),
                Node::Map(vec![("k".into(), Node::Str("w".into()))])
            ),
        ])
    );
    assert_eq!(
        emit_tree(&root).unwrap(),
        "top = 1\n\n[a]\nk = v\n\n[b]\nx = `y;z`\n\n[a]\nk = w\n"
    );
    let nested = Node::Map(vec![(
        "a".into(),
        Node::Map(vec![("k".into(), Node::List(vec![]))]),
    )]);
    assert!(
        emit_tree(&nested)
            .unwrap_err()
            .to_string()
            .contains("[\"a\"][\"k\"]")
    );
    assert!(emit_tree(&Node::Map(vec![("k".into(), Node::Int(1))])).is_err());
}

/// Found by fuzzing (ini): a backtick-quoted value holding a backtick, with text after its
/// closing quote (which ini.v1 drops), was written back bare, so that text joined the value.
#[test]
fn a_quoted_value_with_text_after_its_quote_keeps_its_value() {
    for plain in ["[s]\nk = `a`b`tail\n", "[s]\nk = \"a\" b\" tail\n"] {
        let doc = IniDocument::parse(plain).unwrap();
        let want: Vec<_> = doc.leaves().iter().map(|l| l.value.clone()).collect();
        let (_, back) = encrypt_decrypt(plain);
        let again = IniDocument::parse(&back).unwrap();
        let got: Vec<_> = again.leaves().iter().map(|l| l.value.clone()).collect();
        assert!(got == want, "{plain:?} came back as {back:?}");
    }
}

#[test]
fn a_value_that_could_not_be_written_back_is_refused_before_encryption() {
    // Found by fuzzing: the value needs quotes after decryption, and the quote characters in
    // the rest of its line would pair with them, so it would come back different.
    let source = "[grafana]\nurl r rd+ ----------= \"\"\"\"\"\"\"\"lllllllllllll\"\"\"\"\"\"\"\"lllllllllllllllllll; = `tbig t";
    let err = IniDocument::parse(source).err().expect("refused");
    let message = err.to_string();
    assert!(
        message.contains("line 2") && message.contains("reads back"),
        "{message}"
    );
    assert!(
        !message.contains("lllll"),
        "no value in the message: {message}"
    );
}
