//! The configuration loader as a function: each setting's names, default, precedence (flags > `SOVA_*` environment >
//! TOML file > default) and refusal of bad values, without starting a server. figment's `Jail` gives each case its
//! own environment and working directory (for `./sova.toml`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// `Jail::expect_with` takes closures returning figment's (large) `Result`.
#![allow(clippy::result_large_err)]

use std::collections::BTreeSet;

use clap::{Args, Command, FromArgMatches};
use figment::Jail;
use serde_json::{Value, json};
use sova_server::Config;

use super::*;

/// How a value is written in TOML and read back from the loaded configuration.
#[derive(Clone, Copy)]
enum Type {
    Str,
    Num,
    Bool,
    /// Comma-separated entries.
    List,
}

impl Type {
    fn toml(self, v: &str) -> String {
        match self {
            Type::Str => format!("{v:?}"),
            Type::Num | Type::Bool => v.to_string(),
            Type::List => format!("{:?}", v.split(',').collect::<Vec<_>>()),
        }
    }

    fn json(self, v: &str) -> Value {
        match self {
            Type::Str => json!(v),
            Type::Num => serde_json::from_str(v).unwrap(),
            Type::Bool => json!(v == "true"),
            Type::List => json!(v.split(',').collect::<Vec<_>>()),
        }
    }
}

struct Row {
    flag: &'static str,
    env: &'static str,
    key: &'static str,
    ty: Type,
    default: Value,
    /// Three values: given in the file, then also in the environment, then also as a flag.
    examples: [&'static str; 3],
    /// A bad value (a TOML literal) and what the error says of it.
    bad_toml: &'static str,
    /// The same bad value from the environment and as a flag, when a string can be bad.
    bad_string: Option<&'static str>,
    error: &'static str,
}

#[rustfmt::skip]
fn table() -> Vec<Row> {
    use Type::*;
    let row = |flag, env, key, ty, default, examples, bad_toml, bad_string, error| Row {
        flag, env, key, ty, default, examples, bad_toml, bad_string, error,
    };
    let not_a_string = r#"invalid type: found signed int `5`, expected"#;
    vec![
        row("--listen", "SOVA_LISTEN", "listen", Str, json!("127.0.0.1:8080"),
            ["127.0.0.1:1001", "0.0.0.0:1002", "[::1]:1003"], r#""localhost""#, Some("localhost"),
            "invalid socket address syntax"),
        row("--data-dir", "SOVA_DATA_DIR", "data_dir", Str, json!("./sova-data"),
            ["file-dir", "2024", "/var/lib/sova"], "5", None, not_a_string),
        row("--database-url", "SOVA_DATABASE_URL", "database_url", Str, Value::Null,
            ["sqlite://f.db", "postgres://u@h/db", "sqlite://c.db"], "5", None, not_a_string),
        row("--sandbox", "SOVA_SANDBOX", "sandbox", Bool, Value::Null,
            ["false", "true", "false"], r#""maybe""#, Some("maybe"),
            r#"invalid type: found string "maybe", expected a boolean"#),
        row("--btc-xpub", "SOVA_BTC_XPUB", "btc_xpub", Str, Value::Null,
            ["xpub-f", "xpub-e", "xpub-c"], "5", None, not_a_string),
        row("--btc-testnet-xpub", "SOVA_BTC_TESTNET_XPUB", "btc_testnet_xpub", Str, Value::Null,
            ["tpub-f", "tpub-e", "tpub-c"], "5", None, not_a_string),
        row("--evm-xpub", "SOVA_EVM_XPUB", "evm_xpub", Str, Value::Null,
            ["xpub-f", "xpub-e", "xpub-c"], "5", None, not_a_string),
        row("--solana-mnemonic-file", "SOVA_SOLANA_MNEMONIC_FILE", "solana_mnemonic_file", Str, Value::Null,
            ["f.txt", "e.txt", "c.txt"], "5", None, not_a_string),
        row("--rate-limit", "SOVA_RATE_LIMIT", "rate_limit", Num, json!(1200),
            ["1", "2", "0"], "-5", Some("-5"), "invalid value signed int `-5`, expected u64"),
        row("--hmac-window", "SOVA_HMAC_WINDOW", "hmac_window", Num, json!(30),
            ["5", "6", "7"], "0", Some("0"), "invalid value signed int `0`, expected at least 1"),
        row("--body-limit", "SOVA_BODY_LIMIT", "body_limit", Num, json!(65536),
            ["1000", "2000", "3000"], r#""big""#, Some("big"), r#"invalid type: found string "big", expected usize"#),
        row("--header-timeout", "SOVA_HEADER_TIMEOUT", "header_timeout", Num, json!(15),
            ["5", "6", "7"], "0", Some("0"), "invalid value signed int `0`, expected at least 1"),
        row("--body-timeout", "SOVA_BODY_TIMEOUT", "body_timeout", Num, json!(30),
            ["5", "6", "7"], "0", Some("0"), "invalid value signed int `0`, expected at least 1"),
        row("--max-connections", "SOVA_MAX_CONNECTIONS", "max_connections", Num, json!(10000),
            ["100", "200", "300"], "0", Some("0"), "invalid value unsigned int `0`, expected at least 1"),
        row("--session-ttl", "SOVA_SESSION_TTL", "session_ttl", Num, json!(3600),
            ["60", "120", "180"], "-1", Some("-1"), "invalid value signed int `-1`, expected u64"),
        row("--server-key-file", "SOVA_SERVER_KEY_FILE", "server_key_file", Str, Value::Null,
            ["f.key", "e.key", "c.key"], "5", None, not_a_string),
        row("--log-format", "SOVA_LOG_FORMAT", "log_format", Str, json!("text"),
            ["json", "text", "json"], r#""xml""#, Some("xml"), "unknown value 'xml', expected text or json"),
        row("--x402-network", "SOVA_X402_NETWORK", "x402_network", Str, json!("solana-devnet"),
            ["solana", "solana-devnet", "solana"], r#""ethereum""#, Some("ethereum"),
            "unknown value 'ethereum', expected solana-devnet or solana"),
        row("--x402-pay-to", "SOVA_X402_PAY_TO", "x402_pay_to", Str, Value::Null,
            ["PayToF", "PayToE", "PayToC"], "5", None, not_a_string),
        row("--x402-fee-payer-keypair", "SOVA_X402_FEE_PAYER_KEYPAIR", "x402_fee_payer_keypair", Str, Value::Null,
            ["f.json", "e.json", "c.json"], "5", None, not_a_string),
        row("--x402-settlement", "SOVA_X402_SETTLEMENT", "x402_settlement", Str, json!("sandbox"),
            ["rpc", "sandbox", "rpc"], r#""foo""#, Some("foo"), "unknown value 'foo', expected sandbox or rpc"),
        row("--solana-rpc-url", "SOVA_SOLANA_RPC_URL", "solana_rpc_url", Str, Value::Null,
            ["https://f.example", "https://e.example", "https://c.example"], "5", None, not_a_string),
        row("--chain-id", "SOVA_CHAIN_ID", "chain_id", Num, Value::Null,
            ["138565", "286623", "138565"], "5", Some("5"),
            "invalid value unsigned int `5`, expected 286623 (mainnet) or 138565 (testnet)"),
        row("--exchange-coin-prefix", "SOVA_EXCHANGE_COIN_PREFIX", "exchange_coin_prefix", Str, Value::Null,
            ["v", "w", "x"], "5", None, not_a_string),
        row("--public-origin", "SOVA_PUBLIC_ORIGIN", "public_origin", Str, Value::Null,
            ["https://f.example", "https://e.example", "https://c.example:8443"], "5", None, not_a_string),
        row("--httpsig-skew", "SOVA_HTTPSIG_SKEW", "httpsig_skew", Num, json!(60),
            ["10", "20", "30"], "0", Some("0"), "invalid value signed int `0`, expected at least 1"),
        row("--evm-rpc-url", "SOVA_EVM_RPC_URL", "evm_rpc_url", List, json!([]),
            ["1=https://f.example", "1=https://e1.example,8453=https://e.example", "10=https://c.example"],
            r#"["nope"]"#, Some("nope"), r#"invalid value string "nope", expected CHAIN_ID=URL"#),
        row("--webhook-allow-private", "SOVA_WEBHOOK_ALLOW_PRIVATE", "webhook_allow_private", Bool, json!(false),
            ["true", "false", "true"], r#""maybe""#, Some("maybe"),
            r#"invalid type: found string "maybe", expected a boolean"#),
        row("--redis-url", "SOVA_REDIS_URL", "redis_url", Str, Value::Null,
            ["redis://f.example", "redis://e.example", "redis://c.example"], "5", None, not_a_string),
        row("--advertise-url", "SOVA_ADVERTISE_URL", "advertise_url", Str, Value::Null,
            ["http://f.example:8080", "http://e.example:8080", "http://c.example:8080"], "5", None, not_a_string),
        row("--perps-index-feed", "SOVA_PERPS_INDEX_FEED", "perps_index_feed", List, json!([]),
            ["BTC-USD=https://f.example/p", "BTC-USD=https://e1.example/p,ETH-USD=https://e.example/p#/data/amount",
                "SOL-USD=https://c.example/p"],
            r#"["nope"]"#, Some("nope"), r#"invalid value string "nope", expected SYMBOL=URL"#),
        row("--quote-ttl", "SOVA_QUOTE_TTL", "quote_ttl", Num, json!(30),
            ["10", "60", "300"], "301", Some("301"), "invalid value unsigned int `301`, expected 1 to 300 seconds"),
        row("--trading-usd-alias", "SOVA_TRADING_USD_ALIAS", "trading_usd_alias", Bool, json!(false),
            ["true", "false", "true"], r#""maybe""#, Some("maybe"),
            r#"invalid type: found string "maybe", expected a boolean"#),
        row("--chain-rpc", "SOVA_CHAIN_RPC", "chain_rpc", List, json!([]),
            ["ethereum=http://f.example", "bitcoin=http://e1.example,solana=http://e.example", "ethereum=http://c.example"],
            r#"["nope"]"#, Some("nope"), r#"invalid value string "nope", expected NETWORK=URL"#),
        row("--chain-confirmations", "SOVA_CHAIN_CONFIRMATIONS", "chain_confirmations", List, json!([]),
            ["bitcoin=6", "bitcoin=2,ethereum=finalized", "ethereum=20"],
            r#"["nope"]"#, Some("nope"), r#"invalid value string "nope", expected NETWORK=DEPTH or NETWORK=finalized"#),
        row("--chain-token", "SOVA_CHAIN_TOKEN", "chain_token", List, json!([]),
            ["ethereum:USDC=0x01", "ethereum:USDT=0x02,solana:USDC=Mint1", "ethereum:USDC=0x03"],
            r#"["nope"]"#, Some("nope"), r#"invalid value string "nope", expected NETWORK:CURRENCY=CONTRACT"#),
        row("--chain-signer", "SOVA_CHAIN_SIGNER", "chain_signer", List, json!([]),
            ["ethereum=/f/key", "ethereum=/e1/key,ethereum-sepolia=/e/key", "ethereum=/c/key"],
            r#"["nope"]"#, Some("nope"), r#"invalid value string "nope", expected NETWORK=KEYFILE"#),
        row("--chain-replace-secs", "SOVA_CHAIN_REPLACE_SECS", "chain_replace_secs", Num, json!(180),
            ["10", "60", "600"], "1", Some("1"), "invalid value unsigned int `1`, expected 5 to 86400 seconds"),
        row("--chain-poll-ms", "SOVA_CHAIN_POLL_MS", "chain_poll_ms", Num, json!(2000),
            ["100", "500", "60000"], "10", Some("10"), "invalid value unsigned int `10`, expected 50 to 600000 milliseconds"),
    ]
}

/// Load as `sova serve ARGS` would, with exactly `env` as the environment and `toml` as `./sova.toml`.
fn load_with(jail: &mut Jail, toml: Option<&str>, env: &[(&str, &str)], args: &[&str]) -> anyhow::Result<Config> {
    jail.clear_env();
    for (k, v) in env {
        jail.set_env(k, v);
    }
    match toml {
        Some(text) => drop(jail.create_file("sova.toml", text).unwrap()),
        None => drop(std::fs::remove_file("sova.toml")),
    }
    let cmd = ServeFlags::augment_args(Command::new("serve"));
    let matches = cmd.try_get_matches_from(std::iter::once("serve").chain(args.iter().copied()))?;
    load(&ServeFlags::from_arg_matches(&matches)?)
}

fn get(config: &Config, key: &str) -> Value {
    serde_json::to_value(config).unwrap()[key].clone()
}

#[test]
fn every_setting_default_precedence_and_refusal() {
    let rows = table();
    let keys: BTreeSet<&str> = rows.iter().map(|r| r.key).collect();
    let declared: BTreeSet<&str> = settings().iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, declared, "the table lists every setting");
    Jail::expect_with(|jail| {
        let defaults = load_with(jail, None, &[], &[]).unwrap();
        for r in &rows {
            let s = settings().iter().find(|s| s.key == r.key).unwrap();
            assert_eq!((format!("--{}", s.flag), s.env.as_str()), (r.flag.to_string(), r.env), "{}", r.key);
            assert_eq!(get(&defaults, r.key), r.default, "default of {}", r.key);

            let [file, env, flag] = r.examples;
            let toml = format!("{} = {}\n", r.key, r.ty.toml(file));
            let c = load_with(jail, Some(&toml), &[], &[]).unwrap();
            assert_eq!(get(&c, r.key), r.ty.json(file), "{} from the file", r.key);
            let c = load_with(jail, Some(&toml), &[(r.env, env)], &[]).unwrap();
            assert_eq!(get(&c, r.key), r.ty.json(env), "{} from the environment over the file", r.key);
            let c = load_with(jail, Some(&toml), &[(r.env, env)], &[r.flag, flag]).unwrap();
            assert_eq!(get(&c, r.key), r.ty.json(flag), "{} from the flag over the environment", r.key);
            let c = load_with(jail, None, &[], &[&format!("{}={flag}", r.flag)]).unwrap();
            assert_eq!(get(&c, r.key), r.ty.json(flag), "{} from --flag=value", r.key);

            let refused = |result: anyhow::Result<Config>, from: &str| {
                let e = result.expect_err(r.key).to_string();
                let want = format!("{}: {}", r.key, r.error);
                assert!(e.starts_with(&want), "{e:?} should start with {want:?}");
                assert!(e.ends_with(&format!("(from {from})")), "{e:?} should name {from}");
            };
            refused(load_with(jail, Some(&format!("{} = {}\n", r.key, r.bad_toml)), &[], &[]), "sova.toml");
            if let Some(bad) = r.bad_string {
                refused(load_with(jail, None, &[(r.env, bad)], &[]), r.env);
                refused(load_with(jail, None, &[], &[r.flag, bad]), r.flag);
            }
        }
        Ok(())
    });
}

#[test]
fn the_file_refuses_unknown_keys_and_bad_syntax() {
    Jail::expect_with(|jail| {
        let e = load_with(jail, Some("listen = \"127.0.0.1:1\"\nrate_limt = 5\n"), &[], &[]).unwrap_err();
        assert_eq!(e.to_string(), "rate_limt: unknown key (from sova.toml)");
        let e = load_with(jail, Some("[exchange]\nchain = 1\n"), &[], &[]).unwrap_err();
        assert_eq!(e.to_string(), "exchange.chain: unknown key (from sova.toml)");
        // Not configurable.
        let e = load_with(jail, Some("intel_prices = 1\n"), &[], &[]).unwrap_err();
        assert_eq!(e.to_string(), "intel_prices: unknown key (from sova.toml)");
        // An enum by name only, not by its index.
        let e = load_with(jail, Some("x402_settlement = 1\n"), &[], &[]).unwrap_err();
        assert!(
            e.to_string().starts_with("x402_settlement: invalid type: found signed int `1`, expected a string"),
            "{e}"
        );
        let e = load_with(jail, Some("listen = \n"), &[], &[]).unwrap_err();
        assert!(e.to_string().starts_with("sova.toml: TOML parse error at line 1"), "{e}");
        Ok(())
    });
}

#[test]
fn config_file_flag_and_variable() {
    Jail::expect_with(|jail| {
        jail.create_file("other.toml", "rate_limit = 7\n")?;
        let c = load_with(jail, Some("rate_limit = 5\n"), &[], &[]).unwrap();
        assert_eq!(c.rate_limit_per_minute, 5, "./sova.toml when present");
        let c = load_with(jail, Some("rate_limit = 5\n"), &[], &["--config", "other.toml"]).unwrap();
        assert_eq!(c.rate_limit_per_minute, 7, "--config instead of ./sova.toml");
        let c = load_with(jail, None, &[("SOVA_CONFIG", "other.toml")], &[]).unwrap();
        assert_eq!(c.rate_limit_per_minute, 7);
        let e = load_with(jail, None, &[], &["--config", "missing.toml"]).unwrap_err();
        assert_eq!(e.to_string(), "configuration file missing.toml does not exist");
        jail.create_file("bad.toml", "rate_limit = \"x\"\n")?;
        let e = load_with(jail, None, &[], &["--config", "bad.toml"]).unwrap_err();
        assert!(e.to_string().ends_with("(from bad.toml)"), "{e}");
        Ok(())
    });
}

#[test]
fn other_variables_are_not_settings() {
    Jail::expect_with(|jail| {
        let env = [("SOVA_LOG", "debug"), ("SOVA_URL", "x"), ("SOVA_TEST_DATABASE_URL", "y"), ("SOVA_NOPE", "z")];
        let c = load_with(jail, None, &env, &[]).unwrap();
        assert_eq!(get(&c, "listen"), json!("127.0.0.1:8080"));
        Ok(())
    });
}

#[test]
fn sandbox_follows_the_keys_unless_set() {
    Jail::expect_with(|jail| {
        assert!(load_with(jail, None, &[], &[]).unwrap().sandbox());
        let xpub = [("SOVA_EVM_XPUB", "xpub-e")];
        assert!(!load_with(jail, None, &xpub, &[]).unwrap().sandbox());
        assert!(load_with(jail, None, &xpub, &["--sandbox", "true"]).unwrap().sandbox());
        assert!(!load_with(jail, None, &[], &["--sandbox", "false"]).unwrap().sandbox());
        Ok(())
    });
}

#[test]
fn chain_id_overrides_the_exchange_table() {
    Jail::expect_with(|jail| {
        assert_eq!(load_with(jail, None, &[], &[]).unwrap().exchange.chain_id, 286623);
        let table = "[exchange]\nchain_id = 138565\n";
        assert_eq!(load_with(jail, Some(table), &[], &[]).unwrap().exchange.chain_id, 138565);
        let both = format!("chain_id = 286623\n{table}");
        assert_eq!(load_with(jail, Some(&both), &[], &[]).unwrap().exchange.chain_id, 286623);
        let c = load_with(jail, Some(table), &[], &["--chain-id", "286623"]).unwrap();
        assert_eq!(c.exchange.chain_id, 286623);
        Ok(())
    });
}

#[test]
fn exchange_coin_prefix_overrides_the_exchange_table() {
    Jail::expect_with(|jail| {
        assert_eq!(load_with(jail, None, &[], &[]).unwrap().exchange.coin_name_prefix, "");
        let table = "[exchange]\ncoin_name_prefix = \"w\"\n[[exchange.markets]]\nid = 1\nbase = \"BTC\"\nquote = \"USDC\"\n\
                     tick_size = \"0.01\"\nlot_size = \"0.0001\"\nmin_notional = \"1\"\nmaker_fee = \"0\"\n\
                     taker_fee = \"0\"\nname = \"vBTC_vUSDC\"\n";
        let c = load_with(jail, Some(table), &[], &[]).unwrap();
        assert_eq!(
            (c.exchange.coin_name_prefix.as_str(), c.exchange.markets[0].name.as_deref()),
            ("w", Some("vBTC_vUSDC"))
        );
        let c = load_with(jail, Some(table), &[("SOVA_EXCHANGE_COIN_PREFIX", "v")], &[]).unwrap();
        assert_eq!(c.exchange.coin_name_prefix, "v");
        let c = load_with(jail, None, &[], &["--exchange-coin-prefix", "v"]).unwrap();
        assert_eq!(c.exchange.coin_name_prefix, "v");
        Ok(())
    });
}

#[test]
fn evm_rpc_urls_in_every_form() {
    let want = |pairs: &[(u64, &str)]| pairs.iter().map(|(id, u)| (*id, u.to_string())).collect();
    Jail::expect_with(|jail| {
        let c = load_with(jail, Some("[evm_rpc_url]\n8453 = \"https://b\"\n1 = \"https://a\"\n"), &[], &[]).unwrap();
        assert_eq!(c.evm_rpc_urls, want(&[(1, "https://a"), (8453, "https://b")]));
        let c = load_with(jail, None, &[("SOVA_EVM_RPC_URL", " 1 = https://a , 8453=https://b ")], &[]).unwrap();
        assert_eq!(c.evm_rpc_urls, want(&[(1, "https://a"), (8453, "https://b")]));
        let args = ["--evm-rpc-url", "1=https://a", "--evm-rpc-url", "10=https://c,8453=https://b"];
        let c = load_with(jail, None, &[], &args).unwrap();
        assert_eq!(c.evm_rpc_urls, want(&[(1, "https://a"), (10, "https://c"), (8453, "https://b")]));
        let e = load_with(jail, None, &[], &["--evm-rpc-url", "1=https://a,1=https://b"]).unwrap_err();
        assert_eq!(e.to_string(), "evm_rpc_url: chain id 1 is given twice (from --evm-rpc-url)");
        let e = load_with(jail, None, &[], &["--evm-rpc-url", "base=https://a"]).unwrap_err();
        assert!(e.to_string().starts_with("evm_rpc_url: invalid value string \"base\", expected a chain id"), "{e}");
        let e = load_with(jail, None, &[], &["--evm-rpc-url", "1="]).unwrap_err();
        assert!(e.to_string().starts_with("evm_rpc_url: invalid value string \"\", expected a URL"), "{e}");
        Ok(())
    });
}

#[test]
fn the_admin_commands_take_only_where_the_database_is() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        let cmd = || DbFlags::augment_args(Command::new("migrate"));
        assert!(cmd().try_get_matches_from(["migrate", "--listen", "127.0.0.1:1"]).is_err());
        let m = cmd().try_get_matches_from(["migrate", "--data-dir", "d", "--database-url", "sqlite://x.db"]).unwrap();
        let c = load(&DbFlags::from_arg_matches(&m).unwrap()).unwrap();
        assert_eq!((c.data_dir.to_str(), c.database_url.as_deref()), (Some("d"), Some("sqlite://x.db")));
        jail.set_env("SOVA_SERVER_KEY_FILE", "k.key");
        let c = load(&DbFlags::from_arg_matches(&cmd().get_matches_from(["migrate"])).unwrap()).unwrap();
        assert_eq!(c.server_key_file.as_deref(), Some(std::path::Path::new("k.key")));
        Ok(())
    });
}

#[test]
fn help_lists_every_flag_with_its_variable_and_default() {
    let help = ServeFlags::augment_args(Command::new("serve")).render_help().to_string();
    for r in table() {
        let line = help.lines().find(|l| l.trim_start().starts_with(&format!("{} <", r.flag)));
        let line = line.unwrap_or_else(|| panic!("{} is not in\n{help}", r.flag));
        let rest: String =
            help.split(line).nth(1).unwrap().lines().take_while(|l| !l.trim_start().starts_with("--")).collect();
        let text = format!("{line}{rest}");
        assert!(text.contains(&format!("[env: {}]", r.env)), "{text}");
        match &r.default {
            Value::Null => assert!(!text.contains("[default:"), "{text}"),
            Value::Array(a) if a.is_empty() => assert!(!text.contains("[default:"), "{text}"),
            Value::String(d) => assert!(text.contains(&format!("[default: {d}]")), "{text}"),
            d => assert!(text.contains(&format!("[default: {d}]")), "{text}"),
        }
    }
    assert!(help.contains("--config <FILE>"), "{help}");
}
