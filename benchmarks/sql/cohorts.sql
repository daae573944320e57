-- Monthly cohorts, by hand: per first-order month c0 and month offset, buyers in that month,
-- GMV, buyers whose last order is at that offset or later, and first repeat purchases (the
-- customer's second month with an order) -- what analyses.customers.cohorts computes in the engine.
-- The fastest of the shapes tried at scale m (timed alternately in one process): one row per
-- customer with the first month and the months with an order as a bit set (month $lo + i is
-- bit i; up to 62 months), grouped by (cohort, bit set) and expanded to its bits; GMV from the
-- orders joined to their customer's cohort. Window functions over one row per customer and month
-- (min, max, row_number) were 1.3-1.5x slower, a self-join on a per-customer aggregate and
-- list_sort(list(mi))[2] for the second month slower still; MATERIALIZED on o made no difference.
-- Views: orders. Parameters: $lo, $hi (timestamps, [lo, hi)).
WITH o AS (  -- valid orders: customer, month since $lo's month, GMV
    SELECT user_id, gmv,
           year(order_ts) * 12 + month(order_ts) - (year($lo) * 12 + month($lo)) AS m
    FROM orders
    WHERE status IN ('paid', 'refunded') AND order_ts >= $lo AND order_ts < $hi
),
pu AS (  -- per customer: cohort month c and the months with an order as bits
    SELECT user_id, min(m) AS c, bit_or(1::BIGINT << m) AS mask FROM o GROUP BY user_id
),
gmv AS (
    SELECT c, m - c AS "offset", sum(gmv) AS gmv FROM o JOIN pu USING (user_id) GROUP BY ALL
),
bits AS (  -- each (cohort, bit set) once per month with an order, p = that month's bit
    SELECT c, k AS "offset", n, mask, c + k AS p
    FROM (SELECT c, mask, count(*) AS n FROM pu GROUP BY ALL), range(0, 62) r(k)
    WHERE c + k < 62 AND (mask >> (c + k)) & 1 = 1
),
cell AS (
    SELECT c, "offset", sum(n) AS buyers,
           sum(n) FILTER (mask >> (p + 1) = 0) AS n_last,  -- no later month
           -- the only earlier month is the cohort's
           coalesce(sum(n) FILTER ("offset" > 0 AND mask & ((1::BIGINT << p) - 1) = 1::BIGINT << c), 0)
               AS first_repeats
    FROM bits GROUP BY ALL
)
SELECT c + year($lo) * 12 + month($lo) AS c0, "offset", buyers, gmv,
       sum(n_last) OVER (PARTITION BY c ORDER BY "offset" DESC) AS buyers_in_or_after,
       first_repeats
FROM cell JOIN gmv USING (c, "offset")
ORDER BY c0, "offset"
