//! A letter on A4 paper, for a DL window envelope (110 × 220 mm, window 90 × 45 mm on the right, 20 mm from the
//! edge and 15 mm from the bottom, as Italian window envelopes have it): [`compose`] places every line, [`render`]
//! writes the PDF. The text is Helvetica in WinAnsiEncoding, one of the standard fonts every reader and printer
//! has, so nothing is embedded.

use pdf_writer::{Content, Finish as _, Name, Pdf, Rect, Ref, Str, TextStr};

use super::winansi::{self, Face};

/// Points per millimetre.
const MM: f32 = 72.0 / 25.4;
/// A4.
const PAGE_WIDTH: f32 = 210.0 * MM;
const PAGE_HEIGHT: f32 = 297.0 * MM;
const LEFT: f32 = 25.0 * MM;
const RIGHT: f32 = PAGE_WIDTH - 20.0 * MM;
/// Where text starts on the pages after the first, and where it stops on every page (from the top).
const TOP: f32 = 25.0 * MM;
const BOTTOM: f32 = PAGE_HEIGHT - 25.0 * MM;

/// The part of the sheet that shows through the window wherever the folded sheet sits in the envelope
/// (it can slide 11 mm): 110–190 mm from the left, 52–82 mm from the top, inside the window's 105–195 and 50–84.
pub const WINDOW_LEFT: f32 = 110.0 * MM;
/// The window area's width.
pub const WINDOW_WIDTH: f32 = 80.0 * MM;
/// The window area's top, from the top of the sheet.
pub const WINDOW_TOP: f32 = 52.0 * MM;
/// The window area's bottom, from the top of the sheet.
pub const WINDOW_BOTTOM: f32 = 82.0 * MM;

const ADDRESS_SIZE: f32 = 10.0;
/// The smallest size an address is shrunk to, to fit a long line in the window; below it, the address is refused.
const ADDRESS_MIN_SIZE: f32 = 7.0;
const RETURN_SIZE: f32 = 6.5;
const BODY_SIZE: f32 = 11.0;
const BODY_LEADING: f32 = 14.5;

/// What a letter says, its texts already in WinAnsi where they come from outside.
#[derive(Debug, Clone)]
pub struct Letter<'a> {
    /// The sender's block, top left: the institute's name first (in bold).
    pub sender: &'a [&'a str],
    /// The sender in one line, printed small above the address, inside the window, for the post's returns.
    pub return_line: &'a str,
    /// The recipient's lines (2 to 6), WinAnsi.
    pub address: &'a [Vec<u8>],
    /// Place and date, e.g. `Roma, 22/11/2026`.
    pub place_date: &'a str,
    /// What the letter is about.
    pub subject: &'a str,
    /// The text: paragraphs separated by line breaks.
    pub body: &'a str,
}

/// A line of text where it is printed: `x` from the left, `y` the baseline from the bottom (points).
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// From the left edge.
    pub x: f32,
    /// The baseline, from the bottom edge.
    pub y: f32,
    /// Regular or bold.
    pub face: Face,
    /// Font size in points.
    pub size: f32,
    /// WinAnsi bytes.
    pub text: Vec<u8>,
}

impl Placed {
    /// Where the line ends on the right.
    pub fn right(&self) -> f32 {
        self.x + self.face.width(&self.text, self.size)
    }
}

/// One sheet: its lines, and whether it carries the fold marks (the first does).
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    /// Every line of text on it.
    pub lines: Vec<Placed>,
    /// Marks on the left edge where the sheet is folded in three.
    pub fold_marks: bool,
}

/// The address does not fit the window even at the smallest size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the address is too long for the envelope's window (80 mm at {ADDRESS_MIN_SIZE} pt)")]
pub struct AddressTooLong {
    /// The 1-based line.
    pub line: usize,
}

/// The size the address is printed at: the usual one, or smaller so that its longest line fits the window.
pub fn address_size(address: &[Vec<u8>]) -> Result<f32, AddressTooLong> {
    let widest = address.iter().map(|line| Face::Regular.width(line, 1.0)).fold(0.0, f32::max);
    let size = if widest * ADDRESS_SIZE <= WINDOW_WIDTH { ADDRESS_SIZE } else { WINDOW_WIDTH / widest };
    if size >= ADDRESS_MIN_SIZE {
        return Ok(size);
    }
    let line = address.iter().position(|line| Face::Regular.width(line, ADDRESS_MIN_SIZE) > WINDOW_WIDTH);
    Err(AddressTooLong { line: line.map_or(1, |i| i + 1) })
}

/// Places every line of `letter` on as many sheets as it needs, numbering the pages when there is more than one.
pub fn compose(letter: &Letter<'_>) -> Result<Vec<Sheet>, AddressTooLong> {
    let from_top = |y: f32| PAGE_HEIGHT - y;
    let mut first = Sheet { lines: Vec::new(), fold_marks: true };

    let mut y = 20.0 * MM;
    for (index, line) in letter.sender.iter().enumerate() {
        let (face, size) = if index == 0 { (Face::Bold, 11.0) } else { (Face::Regular, 9.0) };
        y += size * 1.25;
        first.lines.push(Placed { x: LEFT, y: from_top(y), face, size, text: winansi::encode_lossy(line) });
    }

    let size = address_size(letter.address)?;
    let mut y = WINDOW_TOP + RETURN_SIZE;
    let return_line = winansi::encode_lossy(letter.return_line);
    let return_size = RETURN_SIZE.min(WINDOW_WIDTH / Face::Regular.width(&return_line, 1.0));
    first.lines.push(Placed {
        x: WINDOW_LEFT,
        y: from_top(y),
        face: Face::Regular,
        size: return_size,
        text: return_line,
    });
    y += 2.0 * MM + size;
    for line in letter.address {
        first.lines.push(Placed { x: WINDOW_LEFT, y: from_top(y), face: Face::Regular, size, text: line.clone() });
        y += 1.2 * size;
    }

    let place_date = winansi::encode_lossy(letter.place_date);
    let x = RIGHT - Face::Regular.width(&place_date, BODY_SIZE);
    first.lines.push(Placed { x, y: from_top(105.0 * MM), face: Face::Regular, size: BODY_SIZE, text: place_date });

    let subject = winansi::encode_lossy(&format!("Oggetto: {}", letter.subject));
    let mut text = wrap(&subject, Face::Bold, RIGHT - LEFT);
    text.push((Face::Regular, Vec::new()));
    for paragraph in letter.body.split('\n') {
        text.extend(wrap(&winansi::encode_lossy(paragraph.trim_end()), Face::Regular, RIGHT - LEFT));
    }

    let mut sheets = Vec::new();
    let mut sheet = first;
    let mut y = 118.0 * MM;
    for (face, line) in text {
        if y > BOTTOM {
            sheets.push(std::mem::take(&mut sheet));
            y = TOP + BODY_SIZE;
        }
        if !line.is_empty() {
            sheet.lines.push(Placed { x: LEFT, y: from_top(y), face, size: BODY_SIZE, text: line });
        }
        y += BODY_LEADING;
    }
    sheets.push(sheet);

    let pages = sheets.len();
    if pages > 1 {
        for (index, sheet) in sheets.iter_mut().enumerate() {
            let text = winansi::encode_lossy(&format!("Pagina {} di {pages}", index + 1));
            let x = (PAGE_WIDTH - Face::Regular.width(&text, 9.0)) / 2.0;
            sheet.lines.push(Placed { x, y: 12.0 * MM, face: Face::Regular, size: 9.0, text });
        }
    }
    Ok(sheets)
}

/// `paragraph` cut into lines no wider than `width` in `face` at the body size, between words (inside a word only
/// where the word alone is wider); an empty paragraph is one empty line.
fn wrap(paragraph: &[u8], face: Face, width: f32) -> Vec<(Face, Vec<u8>)> {
    let fits = |text: &[u8]| face.width(text, BODY_SIZE) <= width;
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    for word in paragraph.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let mut candidate = line.clone();
        if !candidate.is_empty() {
            candidate.push(b' ');
        }
        candidate.extend_from_slice(word);
        if fits(&candidate) {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for &byte in word {
            line.push(byte);
            if !fits(&line) {
                line.pop();
                lines.push(std::mem::replace(&mut line, vec![byte]));
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines.into_iter().map(|line| (face, line)).collect()
}

/// The PDF of `sheets`: A4 pages, Helvetica and Helvetica-Bold in WinAnsiEncoding, `title` in the document's
/// information (it must carry no personal data: readers show it).
pub fn render(sheets: &[Sheet], title: &str) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let mut next = {
        let mut id = 0;
        move || {
            id += 1;
            Ref::new(id)
        }
    };
    let (catalog, tree, info) = (next(), next(), next());
    let fonts = [(Name(b"F1"), Face::Regular, next()), (Name(b"F2"), Face::Bold, next())];
    let pages: Vec<(Ref, Ref)> = sheets.iter().map(|_| (next(), next())).collect();

    pdf.catalog(catalog).pages(tree).lang(TextStr("it-IT"));
    pdf.document_info(info).title(TextStr(title)).producer(TextStr("Sportello"));
    pdf.pages(tree).kids(pages.iter().map(|(page, _)| *page)).count(pages.len() as i32);
    for (_, face, id) in fonts {
        pdf.type1_font(id).base_font(Name(face.base_font())).encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    for (sheet, (page_id, content_id)) in sheets.iter().zip(&pages) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT)).parent(tree).contents(*content_id);
        let mut resources = page.resources();
        let mut font_names = resources.fonts();
        for (name, _, id) in fonts {
            font_names.pair(name, id);
        }
        font_names.finish();
        resources.finish();
        page.finish();

        let mut content = Content::new();
        if sheet.fold_marks {
            content.set_line_width(0.5);
            for at in [99.0 * MM, 198.0 * MM] {
                content.move_to(5.0 * MM, PAGE_HEIGHT - at).line_to(10.0 * MM, PAGE_HEIGHT - at);
            }
            content.stroke();
        }
        for line in &sheet.lines {
            let font = if line.face == Face::Bold { fonts[1].0 } else { fonts[0].0 };
            content.begin_text().set_font(font, line.size).next_line(line.x, line.y).show(Str(&line.text)).end_text();
        }
        pdf.stream(*content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(lines: &[&str]) -> Vec<Vec<u8>> {
        lines.iter().map(|line| winansi::encode(line).unwrap()).collect()
    }

    fn letter<'a>(address: &'a [Vec<u8>], body: &'a str) -> Letter<'a> {
        Letter {
            sender: &["INPS", "Via Ciro il Grande, 21", "00144 Roma"],
            return_line: "INPS – Via Ciro il Grande, 21 – 00144 Roma",
            address,
            place_date: "Roma, 22/11/2026",
            subject: "PIN INPS: seconda parte",
            body,
        }
    }

    /// The lines of `sheet` whose text is one of `lines`.
    fn placed<'s>(sheet: &'s Sheet, lines: &[Vec<u8>]) -> Vec<&'s Placed> {
        sheet.lines.iter().filter(|p| lines.contains(&p.text)).collect()
    }

    #[test]
    fn the_address_shows_through_the_window_wherever_the_sheet_sits() {
        let cases = [
            ("a short address", vec!["Mario Rossi", "Via Appia Nuova 12", "00183 Roma RM"]),
            (
                "six lines, the most an address has",
                vec![
                    "Maria Martini",
                    "c/o Studio Bianchi",
                    "Scala B, interno 4",
                    "Via Roma 1",
                    "Frazione Alta",
                    "20121 Milano MI",
                ],
            ),
            (
                "a line shrunk to fit",
                vec!["Anna Bianchi", "Via dei Santi Giovanni e Paolo al Celio, Palazzina Ovest, 12", "00184 Roma RM"],
            ),
        ];
        for (situation, lines) in cases {
            let address = address(&lines);
            let sheets = compose(&letter(&address, "Testo.")).unwrap();
            let printed = placed(&sheets[0], &address);
            assert_eq!(printed.len(), lines.len(), "{situation}");
            for line in printed {
                let (top, bottom) = (PAGE_HEIGHT - line.y - 0.75 * line.size, PAGE_HEIGHT - line.y + 0.25 * line.size);
                assert!(line.x >= WINDOW_LEFT && line.right() <= WINDOW_LEFT + WINDOW_WIDTH, "{situation}: {line:?}");
                assert!(top >= WINDOW_TOP && bottom <= WINDOW_BOTTOM, "{situation}: {line:?}");
                assert!(line.size >= ADDRESS_MIN_SIZE, "{situation}");
            }
        }
    }

    #[test]
    fn an_address_line_too_long_even_when_shrunk_is_refused_by_number() {
        let long = "Via ".to_owned() + &"Lunghissima ".repeat(8);
        assert_eq!(address_size(&address(&["Mario Rossi", &long, "00183 Roma RM"])), Err(AddressTooLong { line: 2 }));
        assert_eq!(address_size(&address(&["Mario Rossi", "00183 Roma RM"])), Ok(ADDRESS_SIZE));
    }

    #[test]
    fn a_short_letter_is_one_page_with_no_number_and_a_long_one_is_numbered() {
        let address = address(&["Mario Rossi", "Via Appia Nuova 12", "00183 Roma RM"]);
        let short = compose(&letter(&address, "Gentile Mario Rossi,\n\necco la seconda parte del PIN.")).unwrap();
        assert_eq!(short.len(), 1);
        assert!(!short[0].lines.iter().any(|p| p.text.starts_with(b"Pagina")));

        let paragraph =
            "È stato richiesto un PIN INPS per il Suo codice fiscale e la sua prima parte è stata inviata. ";
        let body = vec![paragraph.repeat(4); 12].join("\n\n");
        let long = compose(&letter(&address, &body)).unwrap();
        assert!(long.len() >= 2, "{} sheets", long.len());
        for (index, sheet) in long.iter().enumerate() {
            let number = winansi::encode(&format!("Pagina {} di {}", index + 1, long.len())).unwrap();
            assert_eq!(sheet.lines.iter().filter(|p| p.text == number).count(), 1, "sheet {index}");
            assert_eq!(sheet.fold_marks, index == 0);
            for line in sheet.lines.iter().filter(|p| p.size == BODY_SIZE && p.x == LEFT) {
                assert!(line.right() <= RIGHT, "inside the right margin: {line:?}");
                assert!(PAGE_HEIGHT - line.y <= BOTTOM, "above the bottom margin: {line:?}");
            }
        }
    }

    #[test]
    fn lines_break_between_words_and_inside_a_word_only_when_it_is_wider_than_the_line() {
        let width = Face::Regular.width(b"Gentile Mario", BODY_SIZE);
        let lines: Vec<Vec<u8>> = wrap(b"Gentile Mario Rossi", Face::Regular, width).into_iter().map(|l| l.1).collect();
        assert_eq!(lines, [b"Gentile Mario".to_vec(), b"Rossi".to_vec()]);
        let word = b"ABCDEFGHJK".repeat(20);
        let lines = wrap(&word, Face::Regular, width);
        assert!(lines.len() > 1 && lines.iter().all(|(face, l)| face.width(l, BODY_SIZE) <= width));
        assert_eq!(lines.into_iter().flat_map(|l| l.1).collect::<Vec<u8>>(), word, "nothing is lost");
        assert_eq!(wrap(b"", Face::Regular, width), [(Face::Regular, Vec::new())], "an empty line stays");
    }

    #[test]
    fn the_pdf_uses_the_standard_helvetica_in_winansi_on_a4() {
        let address = address(&["Mario Rossi", "Via Appia Nuova 12", "00183 Roma RM"]);
        let sheets = compose(&letter(&address, "La seconda parte è qui.")).unwrap();
        let pdf = render(&sheets, "PIN INPS: seconda parte");
        let text = String::from_utf8_lossy(&pdf);
        assert!(pdf.starts_with(b"%PDF-"), "{text}");
        for expected in ["/BaseFont /Helvetica", "/BaseFont /Helvetica-Bold", "/Encoding /WinAnsiEncoding", "/Count 1"]
        {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        assert!(text.contains("/MediaBox [0 0 595.27563 841.8898]"), "A4, 210 × 297 mm: {text}");
        assert!(!text.contains("FontFile"), "no font is embedded");
    }
}
