//! Minimal DER surgery for tests: split a SEQUENCE into its children, and wrap content in a
//! tag with a correct length.

use der::{Reader, SliceReader};

/// The complete TLVs of the children of the SEQUENCE at the start of `der`.
pub fn children(der: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = SliceReader::new(der).unwrap();
    reader
        .sequence(|r| {
            let mut out = Vec::new();
            while !r.is_finished() {
                out.push(r.tlv_bytes()?.to_vec());
            }
            Ok::<_, der::Error>(out)
        })
        .unwrap()
}

/// `tag || length || content` with a DER length.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of the given complete TLVs.
pub fn sequence(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}
