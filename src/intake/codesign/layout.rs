//! The labelled layout of the code-signing revocation form (SPEC §4): the
//! fields, their labels in Japanese and English and the other ways officers
//! write them. The blank template (`render::xlsx_forms::codesign`) writes
//! these labels and the reader ([`super::read`]) looks for them, so the two
//! cannot drift apart.

/// A field of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Institution,
    Address,
    AdminName,
    AdminDept,
    AdminMail,
    Serial,
    Subject,
    Reason,
    Comment,
    ApplicationDate,
}

/// How a field is labelled and whether it must be filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub field: Field,
    pub ja: &'static str,
    pub en: &'static str,
    /// Other labels read as this field (Japanese or English alone).
    pub aliases: &'static [&'static str],
    pub required: bool,
    /// The hint the template shows beside the value (Japanese / English).
    pub hint: &'static str,
}

impl Label {
    /// The label as the template writes it: `利用機関名 (Institution name)`.
    pub fn text(&self) -> String {
        format!("{} ({})", self.ja, self.en)
    }
    /// The English name used in messages (`certificate serial`).
    pub fn name(&self) -> &'static str {
        self.en
    }
}

/// The form's title (the first row of the template).
pub const TITLE: &str = "コード署名用証明書失効申請書 (Code-signing certificate revocation form)";

/// Every field, in the template's order.
pub const LABELS: [Label; 10] = [
    Label {
        field: Field::ApplicationDate,
        ja: "申請日",
        en: "Application date",
        aliases: &["申請年月日", "Date"],
        required: true,
        hint: "例 2026-04-01 / e.g. 2026-04-01",
    },
    Label {
        field: Field::Institution,
        ja: "利用機関名",
        en: "Institution name",
        aliases: &["機関名", "Institution"],
        required: true,
        hint: "法人名から記入 (例 学校法人申請学園 申請大学) / starting with the legal-entity name",
    },
    Label {
        field: Field::Address,
        ja: "住所",
        en: "Address",
        aliases: &["所在地", "本部所在地"],
        required: true,
        hint: "利用機関登録した本部所在地 / the headquarters address registered with the service",
    },
    Label {
        field: Field::AdminName,
        ja: "申請者（利用管理者）氏名",
        en: "Applicant (admin) name",
        aliases: &[
            "申請者氏名",
            "利用管理者氏名",
            "管理者氏名",
            "氏名",
            "Admin name",
            "Applicant name",
            "Name",
        ],
        required: true,
        hint: "",
    },
    Label {
        field: Field::AdminDept,
        ja: "申請者（利用管理者）所属",
        en: "Applicant (admin) department",
        aliases: &[
            "申請者所属",
            "利用管理者所属",
            "管理者所属",
            "所属",
            "Admin department",
            "Department",
        ],
        required: true,
        hint: "",
    },
    Label {
        field: Field::AdminMail,
        ja: "利用管理者メールアドレス",
        en: "Admin mail",
        aliases: &[
            "管理者メールアドレス",
            "メールアドレス",
            "Admin e-mail",
            "Admin mail address",
            "E-mail",
            "Mail",
        ],
        required: false,
        hint: "任意: 記入すると完了通知が届きます / optional: the completion notice goes there too",
    },
    Label {
        field: Field::Serial,
        ja: "シリアル番号",
        en: "Certificate serial",
        aliases: &[
            "証明書シリアル番号",
            "Serial number",
            "Certificate serial number",
            "Serial",
        ],
        required: true,
        hint: "10進数または0x付き16進数, 文字列として入力 / decimal or 0x-hex, typed as text",
    },
    Label {
        field: Field::Subject,
        ja: "サブジェクト（CN/DN）",
        en: "Subject CN/DN",
        aliases: &[
            "サブジェクト",
            "主体者DN",
            "Subject",
            "Subject DN",
            "CN",
            "DN",
        ],
        required: true,
        hint: "証明書のCNまたはDN / the certificate's CN or DN",
    },
    Label {
        field: Field::Reason,
        ja: "失効理由",
        en: "Revocation reason",
        aliases: &["失効理由コード", "Reason", "Reason code"],
        required: true,
        hint: "0, 1, 3, 4, 5",
    },
    Label {
        field: Field::Comment,
        ja: "失効理由コメント",
        en: "Reason comment",
        aliases: &["コメント", "備考", "Comment"],
        required: false,
        hint: "",
    },
];

/// The label of a field.
pub fn label(field: Field) -> &'static Label {
    LABELS
        .iter()
        .find(|l| l.field == field)
        .unwrap_or(&LABELS[0])
}

/// The notes rows the template writes under the fields.
pub const NOTES: [&str; 4] = [
    "※ 1つの申請書で1枚の証明書を失効します。 / One certificate per form.",
    "※ 「利用機関名」は法人名から記入してください（例 申請大学 → 学校法人申請学園 申請大学）。 / Write the institution name starting with the legal-entity name.",
    "※ シリアル番号は文字列として入力してください（数値にすると桁が失われます）。 / Type the serial as text: as a number Excel drops digits.",
    "※ 失効理由: 0 unspecified, 1 keyCompromise (鍵の危殆化), 3 affiliationChanged (所属変更), 4 superseded (更新), 5 cessationOfOperation (利用終了)",
];
