"""Writes order_report_gbk.csv and item_report_gbk.csv beside this file: a SYNTHETIC Taobao/Tmall
seller order report (订单报表; fictional buyers, names, phones and addresses; fixed seed) and its
item report (宝贝报表: one row per order and item), GBK-encoded as the seller centre exports them,
for the importer's tests.

The header is the report's column list as public tools that read it spell it (e.g. GitHub
c2003070110/TBTool, src/com/walk_nie/taobao/object/TaobaoSaledObject.java: 订单编号, 买家会员名,
买家支付宝账号, 买家应付货款, 买家应付邮费, ... 订单创建时间, 订单付款时间, 宝贝标题, 宝贝种类, ...),
plus 退款金额; order ids carry Excel's ``="..."`` guard, as exports often do. The item report's
header (订单编号, 标题, 价格, 购买数量, 外部系统编号, 商品属性, 套餐信息, 备注, 订单状态, 商家编码) as
public scripts that read it spell it.
Run ``python tests/real_shops/taobao/make_order_report.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from pathlib import Path

COLUMNS = [
    "订单编号",
    "买家会员名",
    "买家支付宝账号",
    "买家应付货款",
    "买家应付邮费",
    "买家支付积分",
    "总金额",
    "返点积分",
    "买家实际支付金额",
    "买家实际支付积分",
    "订单状态",
    "买家留言",
    "收货人姓名",
    "收货地址",
    "运送方式",
    "联系电话",
    "联系手机",
    "订单创建时间",
    "订单付款时间",
    "宝贝标题",
    "宝贝种类",
    "物流单号",
    "物流公司",
    "订单备注",
    "宝贝总数量",
    "店铺Id",
    "店铺名称",
    "订单关闭原因",
    "卖家服务费",
    "买家服务费",
    "发票抬头",
    "是否手机订单",
    "分阶段订单信息",
    "特权订金订单id",
    "修改后的sku",
    "修改后的收货地址",
    "退款金额",
]
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳"]
PLACES = [
    ("浙江省", "杭州市 西湖区"),
    ("广东省", "深圳市 南山区"),
    ("上海", "上海市 浦东新区"),
    ("江苏省", "南京市 鼓楼区"),
    ("北京", "北京市 朝阳区"),
]
ITEM_COLUMNS = [
    "订单编号",
    "标题",
    "价格",
    "购买数量",
    "外部系统编号",
    "商品属性",
    "套餐信息",
    "备注",
    "订单状态",
    "商家编码",
]
CODES = {
    "西湖龙井 明前特级 250g": "LJ-250",
    "安吉白茶 100g 礼盒": "AJ-100",
    "玻璃茶壶 耐热 1L": "HU-1L",
    "功夫茶具套装": "GF-SET",
}  # 正山小种 has no 商家编码 in this shop: its title stands in
TITLES = [
    ("西湖龙井 明前特级 250g", 168.0),
    ("安吉白茶 100g 礼盒", 128.0),
    ("玻璃茶壶 耐热 1L", 59.0),
    ("功夫茶具套装", 239.0),
    ("正山小种 红茶 200g", 88.0),
]


def main(out: Path, n_orders: int = 300, seed: int = 11) -> None:
    rng = random.Random(seed)
    buyers = []
    for i in range(120):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        prov, rest = rng.choice(PLACES)
        buyers.append(
            {
                "nick": f"tb{rng.randint(10**6, 10**7)}_{i}",
                "name": name,
                "alipay": f"1{rng.randint(30, 89)}{rng.randint(10**7, 10**8)}",
                "address": f"{prov} {rest} 文三路{rng.randint(1, 300)}号 {rng.randint(1, 30)}幢",
                "phone": f"1{rng.randint(30, 89)}{rng.randint(10**7, 10**8 - 1)}",
            }
        )
    start = dt.datetime(2024, 9, 1)
    rows, items = [], []
    for k in range(n_orders):
        b = rng.choice(buyers)
        created = start + dt.timedelta(seconds=rng.randint(0, 120 * 86400))
        kinds = rng.sample(TITLES, rng.choice([1, 1, 2]))
        qty = [rng.choice([1, 1, 2]) for _ in kinds]
        goods = round(sum(q * t[1] for q, t in zip(qty, kinds, strict=True)), 2)
        postage = 0.0 if goods >= 99 else 10.0
        discount = 20.0 if goods >= 200 and rng.random() < 0.3 else 0.0
        paid = round(goods + postage - discount, 2)
        r = rng.random()
        status, paid_at, refund, close = "交易成功", created + dt.timedelta(minutes=3), 0.0, ""
        if r < 0.06:
            status, paid_at, paid, close = "等待买家付款", None, 0.0, ""
        elif r < 0.12:
            status, paid_at, paid, close = "交易关闭", None, 0.0, "买家未付款"
        elif r < 0.16:
            status, refund, close = "交易关闭", paid, "退款"
        elif r < 0.22:
            refund = round(kinds[0][1], 2)
        elif r < 0.27:
            status = "卖家已发货，等待买家确认"
        elif r < 0.30:
            status = "买家已付款，等待卖家发货"
        row = dict.fromkeys(COLUMNS, "")
        row.update(
            {
                "订单编号": f'="{3_600_000_000_000_000 + k * 7919}"',
                "买家会员名": b["nick"],
                "买家支付宝账号": b["alipay"],
                "买家应付货款": f"{goods:.2f}",
                "买家应付邮费": f"{postage:.2f}",
                "买家支付积分": "0",
                "总金额": f"{goods + postage:.2f}",
                "返点积分": "0",
                "买家实际支付金额": f"{paid:.2f}",
                "买家实际支付积分": "0",
                "订单状态": status,
                "买家留言": f"请联系{b['name']}" if rng.random() < 0.1 else "",
                "收货人姓名": b["name"],
                "收货地址": b["address"],
                "运送方式": "快递",
                "联系电话": "",
                "联系手机": f"'{b['phone']}",
                "订单创建时间": created.strftime("%Y-%m-%d %H:%M:%S"),
                "订单付款时间": paid_at.strftime("%Y-%m-%d %H:%M:%S") if paid_at else "",
                "宝贝标题": "，".join(t[0] for t in kinds),
                "宝贝种类": str(len(kinds)),
                "物流公司": "中通快递" if status != "等待买家付款" else "",
                "宝贝总数量": str(sum(qty)),
                "店铺Id": "0",
                "店铺名称": "示例茶叶旗舰店",
                "订单关闭原因": close,
                "卖家服务费": "0",
                "买家服务费": "0",
                "是否手机订单": rng.choice(["手机订单", ""]),
                "退款金额": f"{refund:.2f}",
            }
        )
        rows.append(row)
        for (title, price), q in zip(kinds, qty, strict=True):
            items.append(
                {
                    "订单编号": row["订单编号"],
                    "标题": title,
                    "价格": f"{price:.2f}",
                    "购买数量": str(q),
                    "外部系统编号": "",
                    "商品属性": "",
                    "套餐信息": "",
                    "备注": "",
                    "订单状态": status,
                    "商家编码": CODES.get(title, ""),
                }
            )
    _write(out, COLUMNS, rows)
    _write(out.with_name("item_report_gbk.csv"), ITEM_COLUMNS, items)


def _write(out: Path, columns: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns)
    w.writeheader()
    w.writerows(rows)
    out.write_bytes(buf.getvalue().encode("gbk"))


if __name__ == "__main__":
    main(Path(__file__).with_name("order_report_gbk.csv"))
