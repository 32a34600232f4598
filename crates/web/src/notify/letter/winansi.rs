//! Text for the PDF standard fonts: Unicode to WinAnsiEncoding (Windows-1252, PDF 32000-1 annex D), and the widths
//! of Helvetica and Helvetica-Bold from Adobe's font metrics, to wrap lines without embedding a font.

use unicode_normalization::UnicodeNormalization as _;

/// One of the two faces a letter uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// Helvetica.
    Regular,
    /// Helvetica-Bold.
    Bold,
}

impl Face {
    /// The standard font's PostScript name.
    pub fn base_font(self) -> &'static [u8] {
        match self {
            Face::Regular => b"Helvetica",
            Face::Bold => b"Helvetica-Bold",
        }
    }

    /// The width of `text` (WinAnsi bytes) at `size` points, in points.
    pub fn width(self, text: &[u8], size: f32) -> f32 {
        let table = match self {
            Face::Regular => &HELVETICA,
            Face::Bold => &HELVETICA_BOLD,
        };
        let units: u32 = text.iter().map(|&b| u32::from(table[usize::from(b.max(32) - 32)])).sum();
        units as f32 * size / 1000.0
    }
}

/// The WinAnsi code of `c`, if the encoding has it (only printable characters: no controls).
fn code(c: char) -> Option<u8> {
    let code = match c {
        ' '..='~' | '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8a,
        '‹' => 0x8b,
        'Œ' => 0x8c,
        'Ž' => 0x8e,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9a,
        '›' => 0x9b,
        'œ' => 0x9c,
        'ž' => 0x9e,
        'Ÿ' => 0x9f,
        _ => return None,
    };
    // The soft hyphen prints nothing in most readers: an address or a PIN must print what it says.
    (code != 0xad).then_some(code)
}

/// `c` in WinAnsi: as it is, or folded to the letters it is made of without its marks (`ș` → `s`, `ł` → `l`), or
/// `None` if neither can be printed.
fn fold(c: char) -> Option<Vec<u8>> {
    if let Some(code) = code(c) {
        return Some(vec![code]);
    }
    // Letters with a stroke or a dot have no decomposition.
    let plain = match c {
        'ł' => Some('l'),
        'Ł' => Some('L'),
        'đ' => Some('d'),
        'Đ' => Some('D'),
        'ħ' => Some('h'),
        'Ħ' => Some('H'),
        'ı' => Some('i'),
        _ => None,
    };
    if let Some(plain) = plain {
        return code(plain).map(|code| vec![code]);
    }
    let folded: Vec<u8> = std::iter::once(c)
        .nfd()
        .filter(|d| !unicode_normalization::char::is_combining_mark(*d))
        .map(code)
        .collect::<Option<_>>()?;
    (!folded.is_empty()).then_some(folded)
}

/// `text` in WinAnsi, each character folded if it must be; `Err` with the first character that cannot be printed.
pub fn encode(text: &str) -> Result<Vec<u8>, char> {
    let mut bytes = Vec::with_capacity(text.len());
    for c in text.chars() {
        bytes.extend(fold(c).ok_or(c)?);
    }
    Ok(bytes)
}

/// `text` in WinAnsi, with `?` for each character that cannot be printed (for text Sportello wrote itself).
pub fn encode_lossy(text: &str) -> Vec<u8> {
    text.chars().flat_map(|c| fold(c).unwrap_or_else(|| vec![b'?'])).collect()
}

/// Helvetica's advance widths (thousandths of the font size) for the codes 32 to 255; undefined codes (and 127)
/// have the bullet's width, as Adobe's WinAnsi tables give them.
#[rustfmt::skip]
const HELVETICA: [u16; 224] = [
    // 32: space ! " # $ % & ' ( ) * + , - . /
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    // 48: 0-9 : ; < = > ?
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    // 64: @ A-O
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    // 80: P-Z [ \ ] ^ _
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    // 96: ` a-o
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    // 112: p-z { | } ~ DEL
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 350,
    // 128: € _ ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ _ Ž _
    556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350,
    // 144: _ ‘ ’ “ ” • – — ˜ ™ š › œ _ ž Ÿ
    350, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667,
    // 160: nbsp ¡ ¢ £ ¤ ¥ ¦ § ¨ © ª « ¬ shy ® ¯
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    // 176: ° ± ² ³ ´ µ ¶ · ¸ ¹ º » ¼ ½ ¾ ¿
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    // 192: À-Ï
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    // 208: Ð-ß
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    // 224: à-ï
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
    // 240: ð-ÿ
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

/// Helvetica-Bold's advance widths, as [`HELVETICA`].
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 350,
    556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350,
    350, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500, 667,
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn italian_letters_are_encoded_as_windows_1252() {
        let cases = [
            ("accents of Italian", "è à ù ò ì é È", &b"\xe8 \xe0 \xf9 \xf2 \xec \xe9 \xc8"[..]),
            ("quotation marks and apostrophes", "«Le mie domande» l’INPS", b"\xabLe mie domande\xbb l\x92INPS"),
            ("the euro sign and a dash", "€600.00 – ", b"\x80600.00 \x96 "),
            ("a Romanian comma below", "Ștefănescu", b"Stefanescu"),
            ("a Polish stroke", "Łukasz Wałęsa", b"Lukasz Walesa"),
        ];
        for (situation, text, bytes) in cases {
            assert_eq!(encode(text).unwrap(), bytes, "{situation}");
        }
    }

    #[test]
    fn what_cannot_be_printed_is_named_or_replaced() {
        assert_eq!(encode("Mario 王"), Err('王'));
        assert_eq!(encode("a\tb"), Err('\t'), "a control character is not text");
        assert_eq!(encode("soft\u{ad}hyphen"), Err('\u{ad}'));
        assert_eq!(encode_lossy("PIN ✓ 王"), b"PIN ? ?");
    }

    #[test]
    fn widths_follow_the_font_metrics() {
        // Adobe's AFM: space 278, "M" 833 in both faces; "i" 222 in Helvetica, 278 in the bold.
        assert_eq!(Face::Regular.width(b"M i", 10.0), (833.0 + 278.0 + 222.0) / 100.0);
        assert_eq!(Face::Bold.width(b"M i", 10.0), (833.0 + 278.0 + 278.0) / 100.0);
        assert_eq!(Face::Regular.width(&encode("è").unwrap(), 1000.0), 556.0);
        assert!(Face::Bold.width(b"Oggetto", 11.0) > Face::Regular.width(b"Oggetto", 11.0));
    }
}
