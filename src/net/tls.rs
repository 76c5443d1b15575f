//! The TLS settings, built from the `tls-*` directives into a rustls [`ServerConfig`] for
//! `tls-port` and a [`ClientConfig`] for a replica's link to its master with
//! `tls-replication yes` (Redis: `tls.c` `tlsConfigure` / `createSSLContext`, which makes
//! `redis_tls_ctx` and `redis_tls_client_ctx`).
//!
//! [`server_config`] is called at startup when `tls-port` is set and again by CONFIG SET of any
//! `tls-*` directive; like Redis's `tlsConfigure` it is all or nothing: a new config replaces
//! the old one only if every file loaded, so a bad CONFIG SET leaves TLS serving as before.
//! Connections already open keep the config they were accepted with.
//!
//! What maps onto rustls and what does not (rustls is not OpenSSL):
//!
//! * `tls-cert-file` (a chain, leaf first), `tls-key-file` (PKCS#1, PKCS#8 or SEC1 PEM),
//!   `tls-ca-cert-file` / `tls-ca-cert-dir` (every PEM certificate of every file in the
//!   directory; OpenSSL looks certificates up by subject hash, the outcome is the same),
//!   `tls-auth-clients yes|no|optional`, `tls-protocols` (TLSv1.2, TLSv1.3; TLSv1 and TLSv1.1
//!   are refused, rustls never speaks them), `tls-ciphersuites` (TLS 1.3 names),
//!   `tls-ciphers` (TLS 1.2 suites by OpenSSL name, plus `DEFAULT`/`HIGH`/`ALL`),
//!   `tls-prefer-server-ciphers`, `tls-session-caching` and `tls-session-cache-size`.
//! * The replica side ([`client_config`]): the client certificate is `tls-client-cert-file` /
//!   `tls-client-key-file` when set, else `tls-cert-file` / `tls-key-file` (Redis uses its
//!   server context for outgoing links when no client certificate is configured). The
//!   master's certificate chain must lead to `tls-ca-cert-file` / `tls-ca-cert-dir`, but its
//!   names are not compared with the host REPLICAOF named: Redis sets no host name to check
//!   (`SSL_set_verify` with no `X509_VERIFY_PARAM_set1_host`), so neither do we
//!   ([`ChainOnlyVerifier`]). `tls-protocols` and the cipher directives apply to both sides.
//! * `tls-key-file-pass` / `tls-client-key-file-pass` decrypt a PKCS#8 key file
//!   (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, what OpenSSL 3 writes for `openssl rsa -aes256`)
//!   with the `pkcs8` crate; OpenSSL's older "traditional" encryption (`Proc-Type: 4,ENCRYPTED`
//!   in a `BEGIN RSA PRIVATE KEY` block) is refused with a clear error (convert it with
//!   `openssl pkcs8 -topk8`). `tls-dh-params-file` is checked to be readable and otherwise
//!   unused: rustls
//!   negotiates ECDHE only. `tls-session-cache-timeout` is kept but not enforced: rustls's
//!   session cache is bounded by size.

use crate::config::Config;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::pki_types::{ServerName, UnixTime};
use rustls::server::{
    NoServerSessionStorage, ParsedCertificate, ServerSessionMemoryCache, WebPkiClientVerifier,
};
use rustls::{
    CipherSuite, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
    SupportedCipherSuite,
};
use std::sync::Arc;

/// OpenSSL's names of the suites rustls implements (TLS 1.3 names are the IANA ones).
const SUITE_NAMES: &[(&str, CipherSuite)] = &[
    (
        "TLS_AES_128_GCM_SHA256",
        CipherSuite::TLS13_AES_128_GCM_SHA256,
    ),
    (
        "TLS_AES_256_GCM_SHA384",
        CipherSuite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// Builds the server-side TLS config from `config`'s `tls-*` directives. The error is the
/// line Redis would log (it names the file or directive at fault).
pub fn server_config(config: &Config) -> Result<Arc<ServerConfig>, String> {
    if config.tls_cert_file.is_empty() {
        return Err("No tls-cert-file configured!".into());
    }
    if config.tls_key_file.is_empty() {
        return Err("No tls-key-file configured!".into());
    }
    let auth = config.tls_auth_clients.as_str();
    if auth != "no" && config.tls_ca_cert_file.is_empty() && config.tls_ca_cert_dir.is_empty() {
        return Err(
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when \
                    tls-cluster, tls-replication or tls-auth-clients are enabled!"
                .into(),
        );
    }
    let provider = Arc::new(provider(config)?);
    let versions = protocols(&config.tls_protocols)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("Failed to configure ciphers: {e}"))?;
    let builder =
        if auth == "no" {
            builder.with_no_client_auth()
        } else {
            let roots = Arc::new(ca_certificates(config)?);
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
            let verifier = if auth == "optional" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| {
                format!("Failed to configure CA certificate(s) file/directory: {e}")
            })?)
        };
    let chain = certificates(&config.tls_cert_file)
        .map_err(|e| format!("Failed to load certificate: {}: {e}", config.tls_cert_file))?;
    let key = private_key(&config.tls_key_file, &config.tls_key_file_pass)?;
    let mut server = builder.with_single_cert(chain, key).map_err(|e| match e {
        rustls::Error::InvalidCertificate(_) => {
            format!("Failed to load certificate: {}: {e}", config.tls_cert_file)
        }
        _ => format!("Failed to load private key: {}: {e}", config.tls_key_file),
    })?;
    if !config.tls_dh_params_file.is_empty() {
        std::fs::metadata(&config.tls_dh_params_file)
            .map_err(|e| format!("Failed to load {}: {e}", config.tls_dh_params_file))?;
    }
    server.ignore_client_order = config.tls_prefer_server_ciphers;
    if config.tls_session_caching {
        server.session_storage =
            ServerSessionMemoryCache::new(config.tls_session_cache_size.max(1) as usize);
    } else {
        server.session_storage = Arc::new(NoServerSessionStorage {});
        server.send_tls13_tickets = 0;
    }
    Ok(Arc::new(server))
}

/// Builds the client-side TLS config of a replica's link to its master (`tls-replication
/// yes`). Like Redis's `tlsConfigure`, it needs `tls-cert-file`, `tls-key-file` and a CA,
/// whatever certificate the link ends up presenting.
pub fn client_config(config: &Config) -> Result<Arc<ClientConfig>, String> {
    if config.tls_cert_file.is_empty() {
        return Err("No tls-cert-file configured!".into());
    }
    if config.tls_key_file.is_empty() {
        return Err("No tls-key-file configured!".into());
    }
    if config.tls_ca_cert_file.is_empty() && config.tls_ca_cert_dir.is_empty() {
        return Err(
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when \
                    tls-cluster, tls-replication or tls-auth-clients are enabled!"
                .into(),
        );
    }
    let (cert_file, key_file, pass) = if config.tls_client_cert_file.is_empty() {
        (
            &config.tls_cert_file,
            &config.tls_key_file,
            &config.tls_key_file_pass,
        )
    } else if config.tls_client_key_file.is_empty() {
        return Err("No tls-client-key-file configured!".into());
    } else {
        (
            &config.tls_client_cert_file,
            &config.tls_client_key_file,
            &config.tls_client_key_file_pass,
        )
    };
    let provider = Arc::new(provider(config)?);
    let versions = protocols(&config.tls_protocols)?;
    let verifier = Arc::new(ChainOnlyVerifier {
        roots: Arc::new(ca_certificates(config)?),
        provider: provider.clone(),
    });
    let chain = certificates(cert_file)
        .map_err(|e| format!("Failed to load certificate: {cert_file}: {e}"))?;
    let key = private_key(key_file, pass)?;
    let client = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| format!("Failed to configure ciphers: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(chain, key)
        .map_err(|e| format!("Failed to load private key: {key_file}: {e}"))?;
    Ok(Arc::new(client))
}

/// Checks a master's certificate as OpenSSL does for Redis's replica: the chain must be
/// valid (signatures, dates, usage) up to one of our CAs; the names in it are not compared
/// with anything. rustls's own `WebPkiServerVerifier` would also require the host name, so
/// this runs the same chain check (`verify_server_cert_signed_by_trust_anchor`) without it.
#[derive(Debug)]
struct ChainOnlyVerifier {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `tls-protocols`: a space-separated list; empty means TLS 1.2 and 1.3 (Redis's default).
fn protocols(text: &str) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    if text.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS12, &rustls::version::TLS13]);
    }
    let mut versions = Vec::new();
    for token in text.split_ascii_whitespace() {
        match token.to_ascii_lowercase().as_str() {
            "tlsv1.2" => versions.push(&rustls::version::TLS12),
            "tlsv1.3" => versions.push(&rustls::version::TLS13),
            "tlsv1" | "tlsv1.1" => {
                return Err(format!(
                "{token} is specified in tls-protocols but not supported (TLS 1.2 and 1.3 only)."
            ))
            }
            _ => {
                return Err(
                    "Invalid tls-protocols specified. Use a combination of 'TLSv1', \
                            'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."
                        .into(),
                )
            }
        }
    }
    Ok(versions)
}

/// The ring provider restricted to the suites `tls-ciphers` (TLS 1.2) and `tls-ciphersuites`
/// (TLS 1.3) name; an empty directive keeps every suite of its version.
fn provider(config: &Config) -> Result<CryptoProvider, String> {
    let mut provider = ring::default_provider();
    let tls13 = select(&config.tls_ciphersuites, ':', true).ok_or_else(|| {
        format!(
            "Failed to configure ciphersuites: {}",
            config.tls_ciphersuites
        )
    })?;
    let tls12 = select(&config.tls_ciphers, ':', false)
        .ok_or_else(|| format!("Failed to configure ciphers: {}", config.tls_ciphers))?;
    provider.cipher_suites.retain(|suite| {
        let wanted = if is_tls13(suite) { &tls13 } else { &tls12 };
        wanted
            .as_ref()
            .is_none_or(|names| names.contains(&suite.suite()))
    });
    Ok(provider)
}

fn is_tls13(suite: &SupportedCipherSuite) -> bool {
    matches!(suite, SupportedCipherSuite::Tls13(_))
}

/// The suites a cipher string names: `Some(None)` for "all of them" (empty, or an OpenSSL
/// keyword such as DEFAULT/HIGH/ALL), `None` when it names nothing rustls has (OpenSSL
/// refuses such a string too). Exclusions (`!x`, `-x`) and `@STRENGTH` are ignored.
fn select(text: &str, separator: char, tls13: bool) -> Option<Option<Vec<CipherSuite>>> {
    if text.trim().is_empty() {
        return Some(None);
    }
    let mut named = Vec::new();
    for token in text.split([separator, ' ', ',']).map(str::trim) {
        if token.is_empty() || token.starts_with(['!', '-', '@']) {
            continue;
        }
        let token = token.trim_start_matches('+');
        if ["DEFAULT", "HIGH", "ALL", "ECDHE", "EECDH", "AESGCM"].contains(&token) {
            return Some(None);
        }
        let found = SUITE_NAMES
            .iter()
            .filter(|(name, suite)| {
                name.eq_ignore_ascii_case(token)
                    && format!("{suite:?}").starts_with("TLS13") == tls13
            })
            .map(|(_, suite)| *suite);
        named.extend(found);
    }
    (!named.is_empty()).then_some(Some(named))
}

fn certificates(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if chain.is_empty() {
        return Err("no certificate found".into());
    }
    Ok(chain)
}

/// Reads a PEM private key; an encrypted PKCS#8 key is decrypted with `pass` (the
/// `tls-*key-file-pass` directive).
fn private_key(path: &str, pass: &str) -> Result<PrivateKeyDer<'static>, String> {
    let failed = |why: String| format!("Failed to load private key: {path}: {why}");
    let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    let text = String::from_utf8_lossy(&pem);
    if let Some(start) = text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return decrypt_pkcs8(&text[start..], pass).map_err(failed);
    }
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(failed(
            "OpenSSL's traditional key encryption is not supported: convert the key to \
             PKCS#8 with `openssl pkcs8 -topk8 -v2 aes256 -in <file> -out <file>`"
                .into(),
        ));
    }
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| failed(e.to_string()))
}

/// Decrypts the first `ENCRYPTED PRIVATE KEY` block of `pem` (PBES2 as OpenSSL writes it).
fn decrypt_pkcs8(pem: &str, pass: &str) -> Result<PrivateKeyDer<'static>, String> {
    const END: &str = "-----END ENCRYPTED PRIVATE KEY-----";
    let block = pem
        .find(END)
        .map(|end| &pem[..end + END.len()])
        .ok_or("unterminated ENCRYPTED PRIVATE KEY block")?;
    if pass.is_empty() {
        return Err("the key is encrypted and no passphrase (tls-key-file-pass) is set".into());
    }
    let (_, der) = pkcs8::Document::from_pem(block).map_err(|e| e.to_string())?;
    let info =
        pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_bytes()).map_err(|e| e.to_string())?;
    let key = info
        .decrypt(pass.as_bytes())
        .map_err(|e| format!("cannot decrypt the key (wrong passphrase?): {e}"))?;
    Ok(PrivateKeyDer::Pkcs8(key.as_bytes().to_vec().into()))
}

/// The CAs client certificates are checked against: `tls-ca-cert-file` and every PEM file in
/// `tls-ca-cert-dir`.
fn ca_certificates(config: &Config) -> Result<RootCertStore, String> {
    let failed =
        |why: String| format!("Failed to configure CA certificate(s) file/directory: {why}");
    let mut files = Vec::new();
    if !config.tls_ca_cert_file.is_empty() {
        files.push(std::path::PathBuf::from(&config.tls_ca_cert_file));
    }
    if !config.tls_ca_cert_dir.is_empty() {
        let entries = std::fs::read_dir(&config.tls_ca_cert_dir)
            .map_err(|e| failed(format!("{}: {e}", config.tls_ca_cert_dir)))?;
        files.extend(
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|p| p.is_file()),
        );
    }
    let mut roots = RootCertStore::empty();
    for file in files {
        let Ok(certs) = CertificateDer::pem_file_iter(&file) else {
            return Err(failed(format!("{}: cannot read", file.display())));
        };
        for cert in certs.flatten() {
            roots
                .add(cert)
                .map_err(|e| failed(format!("{}: {e}", file.display())))?;
        }
    }
    if roots.is_empty() {
        return Err(failed("no CA certificate found".into()));
    }
    Ok(roots)
}
