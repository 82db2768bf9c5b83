//! The guides every seeded database starts with: six short bilingual articles on choosing and
//! using subsidised solutions, tagged by category and sector. Seeding again adds none twice.

use crate::db::DbConnection;
use crate::error::ApiError;
use crate::guides::store::{self, Content, Write};

struct Seeded {
    slug: &'static str,
    title_en: &'static str,
    title_zh: &'static str,
    body_en: &'static str,
    body_zh: &'static str,
    categories: &'static [&'static str],
    sectors: &'static [&'static str],
}

const GUIDES: &[Seeded] = &[
    Seeded {
        slug: "choosing-a-pos-system",
        title_en: "Choosing a point-of-sale system",
        title_zh: "如何揀選收銀系統",
        body_en: "Start from how you sell, not from the features list.\n\n\
                  - **Counter or table service?** Restaurants need table and kitchen tickets; shops need barcodes and stock.\n\
                  - **Which payments?** Check FPS, Octopus, cards and e-wallets are all accepted, and what each costs per transaction.\n\
                  - **Offline mode.** Ask what happens when the internet drops during the lunch rush.\n\n\
                  The programme pays half of the eligible cost, up to your cap. Compare the *sme_pays* figure of each quote, not the list price.",
        body_zh: "先想清楚你點樣做生意，而唔係先睇功能表。\n\n\
                  - **櫃枱定枱面服務？** 餐廳要有落單及廚房單，零售店要有條碼及存貨管理。\n\
                  - **收甚麼款？** 確認轉數快、八達通、信用卡及電子錢包都收得到，以及每筆交易的手續費。\n\
                  - **離線模式。** 問清楚午市繁忙時斷網會點。\n\n\
                  計劃資助合資格開支的一半，以你的上限為限。比較報價時請看**你需付的金額**，而不是定價。",
        categories: &["e_payment_pos"],
        sectors: &["food_and_beverage", "retail"],
    },
    Seeded {
        slug: "online-marketing-first-steps",
        title_en: "Online marketing: first steps",
        title_zh: "網上推廣入門",
        body_en: "Before paying for campaigns, make sure customers can find you.\n\n\
                  1. Claim your business listing on the main map and review sites.\n\
                  2. Keep opening hours, menu or price list and photos up to date.\n\
                  3. Measure: ask the vendor which figures you will see each month (visits, enquiries, bookings).\n\n\
                  A package should say what it delivers in the first three months. Ask for that in writing.",
        body_zh: "投放廣告之前，先確保客人搵得到你。\n\n\
                  1. 在主要地圖及食評網站認領你的商戶資料。\n\
                  2. 保持營業時間、餐牌或價目表及相片最新。\n\
                  3. 量度成效：問清楚供應商每月會提供哪些數字（瀏覽、查詢、訂座）。\n\n\
                  方案應寫明首三個月交付甚麼，請供應商以書面列明。",
        categories: &["online_marketing"],
        sectors: &[
            "food_and_beverage",
            "retail",
            "tourism",
            "personal_services",
        ],
    },
    Seeded {
        slug: "loyalty-programmes-that-work",
        title_en: "Loyalty programmes that bring customers back",
        title_zh: "令客人回頭的會員計劃",
        body_en: "A loyalty scheme works when it is simple to join and the reward is close.\n\n\
                  - Let customers join with a phone number at the till, not a long form.\n\
                  - Reward the second visit, not only the tenth.\n\
                  - Check the system exports your members' data if you change vendor.\n\n\
                  Personal data must be collected and used as the Personal Data (Privacy) Ordinance requires.",
        body_zh: "會員計劃要成功，關鍵是容易加入、獎賞唔遙遠。\n\n\
                  - 讓客人在收銀處用電話號碼即可登記，不用填長表格。\n\
                  - 第二次光顧已有獎賞，而不只是第十次。\n\
                  - 確認轉換供應商時可以匯出會員資料。\n\n\
                  收集及使用個人資料須符合《個人資料（私隱）條例》。",
        categories: &["crm_loyalty"],
        sectors: &["food_and_beverage", "retail", "personal_services"],
    },
    Seeded {
        slug: "reading-a-vendor-quote",
        title_en: "Reading a vendor's quote",
        title_zh: "看懂供應商報價",
        body_en: "Every listed package shows its eligible cost, the subsidy and what you pay.\n\n\
                  | Item | What to check |\n|---|---|\n\
                  | Subscription term | Months beyond 24 are not subsidised |\n\
                  | Add-ons | Only listed add-ons count towards the eligible cost |\n\
                  | Hardware | Is it yours at the end of the term? |\n\n\
                  You pay your share to the vendor yourself. **Nobody may refund it to you**: a vendor offering cash back is committing fraud.",
        body_zh: "每個上架方案都列出合資格開支、資助額及你需付的金額。\n\n\
                  | 項目 | 要留意 |\n|---|---|\n\
                  | 訂閱期 | 超過 24 個月的部分不獲資助 |\n\
                  | 附加項目 | 只有已列出的附加項目計入合資格開支 |\n\
                  | 硬件 | 期滿後是否歸你所有？ |\n\n\
                  你需自行向供應商支付你的部分。**任何人都不可以把款項退還給你**：供應商提出回贈即屬詐騙。",
        categories: &["e_payment_pos", "online_marketing", "crm_loyalty"],
        sectors: &[],
    },
    Seeded {
        slug: "combining-solutions-under-one-cap",
        title_en: "Combining several solutions under one cap",
        title_zh: "在同一資助上限內組合多個方案",
        body_en: "The per-SME cap covers all your applications together. Applying for the cheapest package first \
                  leaves the most of your cap for the next; the matching engine funds each application in the order you apply.\n\n\
                  Plan the set before you apply: a payment system and a loyalty scheme that talk to each other \
                  are worth more than two that do not.",
        body_zh: "每間中小企的資助上限涵蓋你所有申請。先申請較便宜的方案，可把較多上限留給下一個；\
                  配對引擎按你申請的先後逐一資助。\n\n\
                  申請前先規劃整套方案：能互相連接的收銀系統及會員計劃，比兩套各自為政的系統更有價值。",
        categories: &["e_payment_pos", "crm_loyalty"],
        sectors: &["food_and_beverage", "retail"],
    },
    Seeded {
        slug: "going-digital-for-tourism-businesses",
        title_en: "Going digital for tourism businesses",
        title_zh: "旅遊業商戶的數碼轉型",
        body_en: "Visitors pay with the wallets of home and search in their own language.\n\n\
                  - Accept the e-wallets your visitors use, and show prices clearly.\n\
                  - Keep listings in English and Chinese, with photos and directions.\n\
                  - Collect reviews after the visit: they bring the next visitors.",
        body_zh: "旅客習慣用自己地方的電子錢包付款，亦用自己的語言搜尋。\n\n\
                  - 接受旅客常用的電子錢包，清楚標示價錢。\n\
                  - 以中英文刊登商戶資料，附相片及路線。\n\
                  - 旅程後邀請客人留下評價：評價會帶來下一批客人。",
        categories: &["e_payment_pos", "online_marketing"],
        sectors: &["tourism"],
    },
];

/// Publishes the built-in guides that are not there yet; returns how many it published.
pub fn load(conn: &mut DbConnection) -> Result<usize, ApiError> {
    let mut created = 0;
    for g in GUIDES {
        if store::find(conn, g.slug)?.is_some() {
            continue;
        }
        let content = Content {
            title_en: g.title_en.to_owned(),
            title_zh: g.title_zh.to_owned(),
            body_markdown_en: g.body_en.to_owned(),
            body_markdown_zh: g.body_zh.to_owned(),
            categories: g.categories.iter().map(|c| (*c).to_owned()).collect(),
            sectors: g.sectors.iter().map(|s| (*s).to_owned()).collect(),
        };
        store::save(conn, g.slug, &content, Write::New { author_id: None })?;
        created += 1;
    }
    Ok(created)
}
