-- Monthly cohorts, by hand: per first-order month c0 and month offset, buyers in that month,
-- GMV, buyers whose last order is at that offset or later, and first repeat purchases (the
-- customer's second month with an order) -- what analyses.customers.cohorts computes in the engine.
-- The fastest of the shapes tried at scale m (timed alternately in one process): window functions
-- over one row per customer and month; a self-join on a per-customer aggregate (materialized or
-- not) and list_sort(list(mi))[2] for the second month were 1.0-1.25x slower.
-- Views: orders. Parameters: $lo, $hi (timestamps, [lo, hi)).
WITH um AS (  -- one row per customer and month with a valid order
    SELECT user_id, year(order_ts) * 12 + month(order_ts) AS mi, sum(gmv) AS g
    FROM orders
    WHERE status IN ('paid', 'refunded') AND order_ts >= $lo AND order_ts < $hi
    GROUP BY ALL
),
w AS (
    SELECT mi, g, min(mi) OVER u AS c0, max(mi) OVER u AS mx,
           row_number() OVER (u ORDER BY mi) AS rn
    FROM um
    WINDOW u AS (PARTITION BY user_id)
),
cell AS (
    SELECT c0, mi - c0 AS "offset", count(*) AS buyers, sum(g) AS gmv,
           count(*) FILTER (mi = mx) AS n_last, count(*) FILTER (rn = 2) AS first_repeats
    FROM w
    GROUP BY ALL
)
SELECT c0, "offset", buyers, gmv,
       sum(n_last) OVER (PARTITION BY c0 ORDER BY "offset" DESC) AS buyers_in_or_after,
       first_repeats
FROM cell
ORDER BY c0, "offset"
