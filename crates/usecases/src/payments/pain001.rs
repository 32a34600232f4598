//! The SEPA credit transfer file, ISO 20022 `pain.001.001.03`, written as a stream: the header's control sums come
//! first (from the store's aggregate over the run), then one transaction per payment as the rows arrive, so a run of
//! millions holds one row in memory at a time.

use std::io::Write;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use sportello_domain::Cents;
use sportello_store::{PaymentRow, PaymentRun};

/// The namespace of `pain.001.001.03`.
pub const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03";

/// What the group header and the payment information block say about the transfers that follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlSums {
    /// How many transfers.
    pub count: u64,
    /// Their sum.
    pub total: Cents,
}

/// Writes one run's transfers: [`CreditTransfers::begin`], one [`CreditTransfers::transfer`] per payment, then
/// [`CreditTransfers::finish`], which checks that what was written matches the control sums announced.
pub struct CreditTransfers<W: Write> {
    xml: Writer<W>,
    announced: ControlSums,
    written: ControlSums,
}

/// The message id of a run's file: stable, so that writing the file again gives the same one.
pub fn message_id(run: &PaymentRun) -> String {
    format!("SPORTELLO-{}-{}", run.pay_date.format("%Y%m%d"), run.id)
}

impl<W: Write> CreditTransfers<W> {
    /// Writes the document's opening: the group header and the one payment information block, with `sums`.
    pub fn begin(out: W, run: &PaymentRun, sums: ControlSums) -> std::io::Result<Self> {
        // No indentation: at millions of transfers it would be a third of the file.
        let mut xml = Writer::new(out);
        xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let mut document = BytesStart::new("Document");
        document.push_attribute(("xmlns", NAMESPACE));
        xml.write_event(Event::Start(document))?;
        let mut this = Self { xml, announced: sums, written: ControlSums { count: 0, total: Cents::ZERO } };
        let msg_id = message_id(run);
        let count = sums.count.to_string();
        let total = sums.total.to_string();
        this.open("CstmrCdtTrfInitn")?;
        this.open("GrpHdr")?;
        this.leaf("MsgId", &msg_id)?;
        this.leaf("CreDtTm", &run.created_at.format("%Y-%m-%dT%H:%M:%S").to_string())?;
        this.leaf("NbOfTxs", &count)?;
        this.leaf("CtrlSum", &total)?;
        this.open("InitgPty")?;
        this.leaf("Nm", &run.debtor_name)?;
        this.close("InitgPty")?;
        this.close("GrpHdr")?;
        this.open("PmtInf")?;
        this.leaf("PmtInfId", &format!("{msg_id}-1"))?;
        this.leaf("PmtMtd", "TRF")?;
        this.leaf("BtchBookg", "true")?;
        this.leaf("NbOfTxs", &count)?;
        this.leaf("CtrlSum", &total)?;
        this.open("PmtTpInf")?;
        this.open("SvcLvl")?;
        this.leaf("Cd", "SEPA")?;
        this.close("SvcLvl")?;
        this.close("PmtTpInf")?;
        this.leaf("ReqdExctnDt", &run.pay_date.format("%Y-%m-%d").to_string())?;
        this.open("Dbtr")?;
        this.leaf("Nm", &run.debtor_name)?;
        this.close("Dbtr")?;
        this.account("DbtrAcct", &run.debtor_iban)?;
        this.open("DbtrAgt")?;
        this.open("FinInstnId")?;
        this.leaf("BIC", &run.debtor_bic)?;
        this.close("FinInstnId")?;
        this.close("DbtrAgt")?;
        this.leaf("ChrgBr", "SLEV")?;
        Ok(this)
    }

    /// Writes one transfer: end-to-end id the protocol number, the beneficiary named as the personal records name
    /// them (cut to the 70 characters of `Nm`) and identified by codice fiscale, and `remittance` as the unstructured
    /// remittance text (cut to its 140 characters). A payment without the holder's name is refused: a bank checks the
    /// name against the account's holder, and a codice fiscale is not one.
    pub fn transfer(&mut self, payment: &PaymentRow, remittance: &str) -> std::io::Result<()> {
        let iban = payment.iban.as_deref().ok_or_else(|| {
            std::io::Error::other(format!("payment {} has no IBAN: it belongs in the cash list", payment.protocol))
        })?;
        let name: String = payment
            .holder
            .as_deref()
            .ok_or_else(|| {
                std::io::Error::other(format!(
                    "payment {} has no holder's name: {} has no personal record (import the persons file)",
                    payment.protocol, payment.codice_fiscale
                ))
            })?
            .chars()
            .take(70)
            .collect();
        self.open("CdtTrfTxInf")?;
        self.open("PmtId")?;
        self.leaf("EndToEndId", &payment.protocol)?;
        self.close("PmtId")?;
        self.open("Amt")?;
        let mut amount = BytesStart::new("InstdAmt");
        amount.push_attribute(("Ccy", "EUR"));
        self.xml.write_event(Event::Start(amount))?;
        self.xml.write_event(Event::Text(BytesText::new(&payment.amount.to_string())))?;
        self.xml.write_event(Event::End(BytesEnd::new("InstdAmt")))?;
        self.close("Amt")?;
        let cf = payment.codice_fiscale.as_str();
        self.open("Cdtr")?;
        self.leaf("Nm", &name)?;
        self.open("Id")?;
        self.open("PrvtId")?;
        self.open("Othr")?;
        self.leaf("Id", cf)?;
        self.open("SchmeNm")?;
        // ISO 20022 ExternalPersonIdentification1Code: TXID, tax identification number.
        self.leaf("Cd", "TXID")?;
        self.close("SchmeNm")?;
        self.close("Othr")?;
        self.close("PrvtId")?;
        self.close("Id")?;
        self.close("Cdtr")?;
        self.account("CdtrAcct", iban)?;
        self.open("RmtInf")?;
        let cut: String = remittance.chars().take(140).collect();
        self.leaf("Ustrd", &cut)?;
        self.close("RmtInf")?;
        self.close("CdtTrfTxInf")?;
        self.written.count += 1;
        self.written.total = self
            .written
            .total
            .checked_add(payment.amount)
            .ok_or_else(|| std::io::Error::other("the run's total overflows"))?;
        Ok(())
    }

    /// Closes the document and returns its writer, or fails if the transfers written do not add up to the control
    /// sums announced in the header (the file must then not be sent).
    pub fn finish(mut self) -> std::io::Result<W> {
        if self.written != self.announced {
            return Err(std::io::Error::other(format!(
                "the file announced {} transfers for {} but {} for {} were written",
                self.announced.count, self.announced.total, self.written.count, self.written.total
            )));
        }
        self.close("PmtInf")?;
        self.close("CstmrCdtTrfInitn")?;
        self.close("Document")?;
        let mut out = self.xml.into_inner();
        out.write_all(b"\n")?;
        Ok(out)
    }

    /// How many transfers are written so far.
    pub fn written(&self) -> u64 {
        self.written.count
    }

    fn open(&mut self, name: &str) -> std::io::Result<()> {
        self.xml.write_event(Event::Start(BytesStart::new(name)))
    }

    fn close(&mut self, name: &str) -> std::io::Result<()> {
        self.xml.write_event(Event::End(BytesEnd::new(name)))
    }

    fn leaf(&mut self, name: &str, text: &str) -> std::io::Result<()> {
        self.open(name)?;
        self.xml.write_event(Event::Text(BytesText::new(text)))?;
        self.close(name)
    }

    fn account(&mut self, element: &str, iban: &str) -> std::io::Result<()> {
        self.open(element)?;
        self.open("Id")?;
        self.leaf("IBAN", iban)?;
        self.close("Id")?;
        self.close(element)
    }
}
