//! Just enough of the H.264 bitstream to tell a non-reference picture from a reference one.
//!
//! Sampled vPDQ (one hash a second) must decode every frame that later frames depend on, but
//! a picture whose slices all carry `nal_ref_idc == 0` is, by the standard (ITU-T H.264
//! §7.4.1), never used to decode another picture. When such a picture is not sampled, Vigil
//! does not decode it at all; every other frame decodes to the same pixels.
//!
//! Anything unexpected (a NAL unit that runs past the packet, a scalable or multiview
//! extension, no slice at all) answers "reference", the answer that is always safe.

/// How NAL units are delimited in a stream's packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NalFraming {
    /// MP4/Matroska style (`avcC`): each NAL unit after a big-endian length of 1 to 4 bytes.
    LengthPrefixed(usize),
    /// Annex B byte stream (MPEG-TS, raw `.h264`): NAL units after `00 00 01` start codes.
    AnnexB,
}

impl NalFraming {
    /// The framing a stream's codec extradata declares: an `AVCDecoderConfigurationRecord`
    /// (version byte 1) gives the length size; anything else is an Annex B stream.
    pub(crate) fn from_extradata(extradata: &[u8]) -> NalFraming {
        match extradata {
            [1, _, _, _, size, ..] => NalFraming::LengthPrefixed(usize::from(size & 3) + 1),
            _ => NalFraming::AnnexB,
        }
    }
}

/// The NAL unit header bytes of a packet, in order; `None` when the framing does not hold
/// (a length that runs past the packet, an empty unit).
fn nal_headers(packet: &[u8], framing: NalFraming) -> Option<Vec<u8>> {
    let mut headers = Vec::new();
    match framing {
        NalFraming::LengthPrefixed(size) => {
            let mut rest = packet;
            while !rest.is_empty() {
                let (len_bytes, after) = rest.split_at_checked(size)?;
                let len = len_bytes
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
                let (nal, after) = after.split_at_checked(len)?;
                headers.push(*nal.first()?);
                rest = after;
            }
        }
        NalFraming::AnnexB => {
            let mut i = 0;
            while i + 3 < packet.len() {
                if packet[i] == 0 && packet[i + 1] == 0 && packet[i + 2] == 1 {
                    headers.push(packet[i + 3]);
                    i += 3;
                } else {
                    i += 1;
                }
            }
        }
    }
    Some(headers)
}

/// Whether the picture in `packet` is a non-reference picture: it has at least one slice and
/// every slice has `nal_ref_idc == 0`.
pub(crate) fn is_non_reference(packet: &[u8], framing: NalFraming) -> bool {
    let Some(headers) = nal_headers(packet, framing) else {
        return false;
    };
    let mut slices = 0u32;
    for header in headers {
        let nal_ref_idc = (header >> 5) & 3;
        match header & 0x1f {
            // Coded slices and slice data partitions; IDR (5) always has nal_ref_idc > 0.
            1..=5 => {
                slices += 1;
                if nal_ref_idc != 0 {
                    return false;
                }
            }
            // Prefix, subset SPS and extension slices of SVC and MVC: not handled.
            14 | 15 | 20 | 21 => return false,
            _ => {}
        }
    }
    slices > 0
}

/// Whether `packet` holds an IDR picture: every picture after it in decoding order decodes
/// without any picture before it (H.264 §3.69), so nothing before it is needed after it.
pub(crate) fn is_idr(packet: &[u8], framing: NalFraming) -> bool {
    nal_headers(packet, framing).is_some_and(|h| h.iter().any(|b| b & 0x1f == 5))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NAL unit header byte.
    fn header(nal_ref_idc: u8, nal_unit_type: u8) -> u8 {
        (nal_ref_idc << 5) | nal_unit_type
    }

    fn length_prefixed(nals: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for nal in nals {
            out.extend_from_slice(&u32::try_from(nal.len()).unwrap_or(0).to_be_bytes());
            out.extend_from_slice(nal);
        }
        out
    }

    #[test]
    fn framing_from_extradata() {
        assert_eq!(
            NalFraming::from_extradata(&[1, 0x4d, 0, 0x1f, 0xff, 0xe1]),
            NalFraming::LengthPrefixed(4)
        );
        assert_eq!(
            NalFraming::from_extradata(&[1, 0x4d, 0, 0x1f, 0xfd]),
            NalFraming::LengthPrefixed(2)
        );
        assert_eq!(
            NalFraming::from_extradata(&[0, 0, 0, 1, 0x67]),
            NalFraming::AnnexB
        );
        assert_eq!(NalFraming::from_extradata(&[]), NalFraming::AnnexB);
    }

    #[test]
    fn length_prefixed_pictures() {
        let f = NalFraming::LengthPrefixed(4);
        let sei = [header(0, 6), 5, 1, 0x80];
        let b_slice = [header(0, 1), 0x9e, 0x10];
        let ref_b_slice = [header(2, 1), 0x9e, 0x10];
        let idr = [header(3, 5), 0x88, 0x84];
        assert!(is_non_reference(&length_prefixed(&[&b_slice]), f));
        assert!(is_non_reference(
            &length_prefixed(&[&sei, &b_slice, &b_slice]),
            f
        ));
        assert!(!is_non_reference(&length_prefixed(&[&ref_b_slice]), f));
        assert!(!is_non_reference(
            &length_prefixed(&[&b_slice, &ref_b_slice]),
            f
        ));
        assert!(!is_non_reference(&length_prefixed(&[&idr]), f));
        // No slice at all, an MVC extension, an empty packet.
        assert!(!is_non_reference(&length_prefixed(&[&sei]), f));
        assert!(!is_non_reference(
            &length_prefixed(&[&b_slice, &[header(0, 20), 1]]),
            f
        ));
        assert!(!is_non_reference(&[], f));
    }

    #[test]
    fn damaged_length_prefixes_are_references() {
        let f = NalFraming::LengthPrefixed(4);
        let mut packet = length_prefixed(&[&[header(0, 1), 0x9e]]);
        packet[3] = 200; // claims more bytes than there are
        assert!(!is_non_reference(&packet, f));
        assert!(!is_non_reference(&packet[..3], f)); // a cut length
        assert!(!is_non_reference(&[0, 0, 0, 0], f)); // an empty NAL unit
        // Two-byte lengths.
        assert!(is_non_reference(
            &[0, 2, header(0, 1), 0x9e],
            NalFraming::LengthPrefixed(2)
        ));
    }

    #[test]
    fn idr_pictures() {
        let f = NalFraming::LengthPrefixed(4);
        let sps = [header(3, 7), 0x4d];
        let idr = [header(3, 5), 0x88];
        let p = [header(2, 1), 0x9a];
        assert!(is_idr(&length_prefixed(&[&sps, &idr]), f));
        assert!(!is_idr(&length_prefixed(&[&p]), f));
        assert!(!is_idr(&[0, 0, 0, 9, header(3, 5)], f)); // a cut unit
        assert!(is_idr(&[0, 0, 1, header(3, 5), 0x88], NalFraming::AnnexB));
    }

    #[test]
    fn annex_b_pictures() {
        let f = NalFraming::AnnexB;
        let non_ref = [
            0,
            0,
            0,
            1,
            header(0, 9),
            0x10,
            0,
            0,
            1,
            header(0, 1),
            0x9e,
            0x22,
        ];
        let reference = [0, 0, 1, header(0, 1), 0x9e, 0, 0, 1, header(1, 1), 0x9a];
        assert!(is_non_reference(&non_ref, f));
        assert!(!is_non_reference(&reference, f));
        assert!(!is_non_reference(&[0, 0, 1, header(0, 6), 1], f));
        assert!(!is_non_reference(&[0, 0, 1], f));
    }
}
