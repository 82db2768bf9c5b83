#!/usr/bin/env python3
"""Generates fixtures/catalogue.json: realistic bilingual demo data for `dtspp seed`.

Deterministic (a fixed random seed), so that re-running it changes nothing unless this file
changes. Run from the repository root: python3 scripts/generate-fixtures.py

With --bench N --out FILE it writes a load-test catalogue instead: N listed packages (each
vendor fills all twelve category and sector pairs), for scripts/bench-catalogue.
"""
import argparse
import json
import random

random.seed(2026)

PREFIXES = [
    ("Harbour", "海港"), ("Victoria", "維港"), ("Kowloon", "九龍"), ("Lantern", "燈籠"), ("Jade", "翡翠"),
    ("Pearl", "明珠"), ("Dragon Gate", "龍門"), ("Peak", "山頂"), ("Star Ferry", "天星"), ("Lion Rock", "獅子山"),
    ("Bauhinia", "紫荊"), ("Tai Ping", "太平"), ("Golden Bay", "金灣"), ("Red Lantern", "紅燈籠"), ("Sampan", "舢舨"),
    ("Cyber Pearl", "數碼明珠"), ("Silvermine", "銀礦灣"), ("Sunrise", "旭日"), ("Evergreen", "長青"), ("Maple Leaf", "楓葉"),
    ("Blue Pool", "藍池"), ("Mui Wo", "梅窩"), ("Tin Hau", "天后"), ("Cheung Chau", "長洲"), ("Lamma", "南丫"),
    ("Shek O", "石澳"), ("Sai Kung", "西貢"), ("Tai O", "大澳"), ("Clearwater", "清水灣"), ("Lotus", "蓮花"),
    ("Phoenix", "鳳凰"), ("Crane", "仙鶴"), ("Orchid", "蘭花"), ("Bamboo", "翠竹"), ("Osmanthus", "桂花"),
    ("Kingfisher", "翠鳥"), ("Typhoon", "颱風"), ("Monsoon", "季候風"), ("Junk Bay", "將軍澳"), ("Plover Cove", "船灣"),
    ("Nathan", "彌敦"), ("Des Voeux", "德輔"), ("Queensway", "金鐘"), ("Wan Chai Gap", "灣仔峽"),
]
SUFFIXES = [("Digital", "數碼"), ("Technology", "科技"), ("Systems", "系統"), ("Solutions", "方案"), ("Software", "軟件")]

PRODUCTS = {
    "e_payment_pos": [
        ("Cloud POS", "雲端收銀系統", "Tablet point-of-sale with cloud reports, e-payments and inventory.", "平板收銀，設雲端報表、電子支付及存貨管理。"),
        ("QR Pay Counter", "二維碼支付收銀", "Accept FPS, Octopus and QR wallets at one counter.", "一個收銀台接受轉數快、八達通及二維碼錢包。"),
        ("Smart Cashier", "智能收銀機", "All-in-one cashier with receipt printer and cash drawer.", "一體化收銀機，附收據打印機及錢箱。"),
        ("Tap & Go Terminal", "拍卡收款終端", "Contactless card and wallet terminal with daily settlement.", "非接觸式拍卡及電子錢包收款終端，每日結算。"),
        ("Mobile Ordering POS", "手機點餐收銀", "Customers order and pay by phone; orders go straight to the kitchen.", "顧客以手機點餐付款，訂單直達廚房。"),
        ("Checkout Suite", "結帳套裝", "Barcode checkout, stock counts and e-invoices in one suite.", "條碼結帳、存貨盤點及電子發票一站式套裝。"),
    ],
    "online_marketing": [
        ("Social Media Booster", "社交媒體推廣", "Managed Facebook and Instagram posts with monthly ads.", "代管 Facebook 及 Instagram 帖文，每月投放廣告。"),
        ("Maps Presence", "地圖商戶推廣", "Verified map listings, photos and review replies.", "認證地圖商戶資料、相片及回覆評論。"),
        ("Online Shop Builder", "網店建立", "A bilingual online shop with payments and delivery.", "中英雙語網店，設網上付款及送貨安排。"),
        ("SEO Starter", "搜尋引擎優化", "Search engine optimisation for your website and listings.", "為網站及商戶資料進行搜尋引擎優化。"),
        ("KOL Campaign Kit", "網紅推廣套裝", "Campaigns with local influencers and tracked coupon codes.", "與本地網紅合作推廣，並以優惠碼追蹤成效。"),
        ("Delivery Platform Listing", "外賣平台上架", "Menu set-up and promotion on food delivery platforms.", "於外賣平台設定餐牌及推廣。"),
    ],
    "crm_loyalty": [
        ("Member Points Card", "會員積分卡", "Digital membership with points on every purchase.", "電子會員卡，每次消費累積會員積分。"),
        ("E-Coupon Centre", "電子優惠券中心", "Issue, track and redeem e-coupons across shops.", "跨店發出、追蹤及兌換電子優惠券。"),
        ("Customer CRM Lite", "客戶管理系統", "Customer records, segments and WhatsApp follow-ups.", "客戶紀錄、分群及 WhatsApp 跟進。"),
        ("Stamp Card App", "印花卡應用程式", "Replace paper stamp cards with a phone app.", "以手機應用程式取代紙本印花卡。"),
        ("Birthday Rewards", "生日獎賞計劃", "Automatic birthday offers and member tiers.", "自動生日優惠及會員等級。"),
    ],
}
SECTORS = {
    "food_and_beverage": [("for Restaurants", "（餐廳版）"), ("for Cafés", "（咖啡店版）"), ("for Cha Chaan Tengs", "（茶餐廳版）")],
    "retail": [("for Shops", "（零售店版）"), ("for Boutiques", "（精品店版）"), ("for Convenience Stores", "（便利店版）")],
    "tourism": [("for Tour Operators", "（旅遊業版）"), ("for Guesthouses", "（賓館版）")],
    "personal_services": [("for Salons", "（美容院版）"), ("for Barbers", "（理髮店版）")],
}
COMPONENTS = {
    "e_payment_pos": [("hardware", "POS tablet with stand"), ("hardware", "Receipt printer"), ("software", "POS licence, 24 months")],
    "online_marketing": [("service", "Monthly campaign management"), ("software", "Analytics dashboard")],
    "crm_loyalty": [("software", "Loyalty platform licence"), ("service", "Member data migration")],
}
ADD_ONS = [
    ("Extra staff training day", "額外員工培訓日"), ("Kitchen printer", "廚房打印機"), ("Cash drawer", "錢箱"),
    ("Extra 1,000 SMS", "額外一千條短訊"), ("Photo shoot", "產品拍攝"), ("Priority support", "優先支援"),
]
STREETS = ["Nathan Road", "Hennessy Road", "Queen's Road Central", "Des Voeux Road", "Castle Peak Road"]
DISTRICTS = ["Central and Western", "Wan Chai", "Eastern", "Yau Tsim Mong", "Sham Shui Po", "Kwun Tong", "Sha Tin", "Tsuen Wan", "Tuen Mun", "Yuen Long"]


def money(value):
    return f"{value:.2f}"


def package(category, sector, listed_state):
    en, zh, sum_en, sum_zh = random.choice(PRODUCTS[category])
    sector_en, sector_zh = random.choice(SECTORS[sector])
    if random.random() < 0.3:
        monthly = random.choice([380, 480, 680, 880, 1280, 1680, 2480, 3680])
        pricing = {"model": "subscription", "monthly_price": money(monthly), "min_term_months": random.choice([12, 12, 24])}
    else:
        # Price-ceiling clustering is a fraud pattern; a few honest packages sit at the ceiling too.
        price = 100000 if random.random() < 0.05 else random.randrange(8000, 98000, 500)
        pricing = {"model": "one_off", "price": money(price)}
    components = [{"kind": k, "description": d, "quantity": random.choice([1, 1, 2])} for k, d in COMPONENTS[category]]
    components.append({"kind": "training", "description": "On-site staff training", "quantity": 1})
    options = [
        {"name_en": o_en, "name_zh": o_zh, "price": money(random.randrange(500, 6000, 100))}
        for o_en, o_zh in random.sample(ADD_ONS, random.randint(0, 3))
    ]
    return {
        "category": category,
        "target_sector": sector,
        "state": listed_state,
        "name_en": f"{en} {sector_en}",
        "name_zh": f"{zh}{sector_zh}",
        "summary_en": sum_en,
        "summary_zh": sum_zh,
        "pricing": pricing,
        "components": components,
        "options": options,
        "deployment_days": random.choice([14, 21, 30, 45, 60, 90]),
    }


def vendors():
    out = []
    slots = [(c, s) for c in PRODUCTS for s in SECTORS]
    statuses = ["approved"] * 36 + ["pending"] * 3 + ["rejected"] * 2 + ["suspended"] * 3
    for i, (prefix, status) in enumerate(zip(PREFIXES, statuses)):
        suffix = SUFFIXES[i % len(SUFFIXES)]
        name_en, name_zh = f"{prefix[0]} {suffix[0]} Limited", f"{prefix[1]}{suffix[1]}有限公司"
        slug = prefix[0].lower().replace(" ", "")
        vendor = {
            "email": f"sales@{slug}-{suffix[0].lower()}.example.hk",
            "company_name_en": name_en,
            "company_name_zh": name_zh,
            "br_number": f"{31000000 + i * 7919:08d}",
            "contact_name": random.choice(["Chan Tai Man", "Wong Siu Ming", "Lee Ka Yan", "Cheung Wing Sze", "Ho Chi Keung"]),
            "phone": f"+852 {random.randint(2000, 3999)} {random.randint(1000, 9999)}",
            "address": f"{random.randint(1, 30)}/F, {random.randint(1, 300)} {random.choice(STREETS)}",
            "track_record": f"Supplied digital solutions to {random.randint(20, 400)} restaurants and shops since {random.randint(2012, 2021)}.",
            "status": status,
            "packages": [],
        }
        if status in ("rejected", "suspended"):
            vendor["status_reason"] = {
                "rejected": "No verifiable track record with F&B or retail customers.",
                "suspended": "Payment proofs of several applications are under review.",
            }[status]
        count = {"approved": random.randint(4, 6), "suspended": 2, "pending": 1, "rejected": 0}[status]
        for category, sector in random.sample(slots, count):
            state = "listed" if status in ("approved", "suspended") else "draft"
            vendor["packages"].append(package(category, sector, state))
        out.append(vendor)
    out[0]["email"] = "vendor@dtspp.demo"
    # Some packages in review states.
    approved = [v for v in out if v["status"] == "approved"]
    for vendor, state in zip(approved[:9], ["submitted"] * 3 + ["changes_requested"] * 3 + ["draft"] * 3):
        vendor["packages"][-1]["state"] = state
    return out


def demo_accounts():
    return {
        "admin": {"email": "admin@dtspp.demo", "password": "demo admin passphrase"},
        # The first fixture vendor's account; seeding with --demo-accounts gives it this password.
        "vendor": {"email": "vendor@dtspp.demo", "password": "demo vendor passphrase"},
        "sme": {
            "email": "sme@dtspp.demo",
            "password": "demo sme passphrase",
            "business_name_en": "Lucky Tea House",
            "business_name_zh": "好運茶餐廳",
            "br_number": "68000001",
            "sector": "food_and_beverage",
            "full_time_employees": 12,
            "district": random.choice(DISTRICTS),
            "address": "G/F, 8 Spring Garden Lane, Wan Chai",
            "phone": "+852 2345 6789",
        },
    }


def bench_vendors(packages):
    slots = [(c, s) for c in PRODUCTS for s in SECTORS]
    out = []
    for i in range((packages + len(slots) - 1) // len(slots)):
        prefix = PREFIXES[i % len(PREFIXES)]
        suffix = SUFFIXES[(i // len(PREFIXES)) % len(SUFFIXES)]
        out.append({
            "email": f"bench{i}@vendor.example.hk",
            "company_name_en": f"{prefix[0]} {suffix[0]} {i} Limited",
            "company_name_zh": f"{prefix[1]}{suffix[1]}{i}號有限公司",
            "br_number": f"{50000000 + i:08d}",
            "contact_name": "Chan Tai Man",
            "phone": "+852 2345 6789",
            "address": "1/F, 1 Nathan Road",
            "track_record": "Load-test vendor.",
            "status": "approved",
            "packages": [package(c, s, "listed") for c, s in slots[: packages - i * len(slots)]],
        })
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", type=int, help="write a load-test catalogue of this many listed packages")
    parser.add_argument("--out", default="fixtures/catalogue.json")
    args = parser.parse_args()
    if args.bench:
        data = {"demo_accounts": demo_accounts(), "vendors": bench_vendors(args.bench)}
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)
        print(f"{len(data['vendors'])} vendors, {args.bench} listed packages in {args.out}")
        return
    data = {
        "demo_accounts": demo_accounts(),
        "vendors": vendors(),
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")
    listed = sum(1 for v in data["vendors"] if v["status"] == "approved" for p in v["packages"] if p["state"] == "listed")
    print(f"{len(data['vendors'])} vendors, {listed} listed packages of approved vendors")


main()
