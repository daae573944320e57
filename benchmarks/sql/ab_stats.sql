-- A/B sufficient statistics of the shop's experiment, by hand: per variant, units and the sums
-- the engine computes (analyses.abtest_units.from_assignments, then abtest.sufficient_stats for
-- converted (proportion), revenue (mean, CUPED on pre_revenue) and aov (revenue / orders)), and
-- the units left out for being in several variants. Only units with an order in
-- [assigned - pre_days, hi) add to a sum; the others count as units.
-- Views: assignments, orders. Parameters: $experiment, $lo, $hi (timestamps), $pre_days.
WITH a AS (
    SELECT unit_id, min(variant) AS variant, min(assigned_ts) AS ts,
           max(variant) AS v2  -- one variant when min = max
    FROM assignments
    WHERE experiment_id = $experiment AND assigned_ts >= $lo AND assigned_ts < $hi
    GROUP BY unit_id
),
per_unit AS (  -- units with an order in the window or the pre-period only
    SELECT a.variant,
           count(*) FILTER (o.order_ts >= a.ts) AS x,
           coalesce(sum(o.gmv) FILTER (o.order_ts >= a.ts), 0) AS y,
           coalesce(sum(o.gmv) FILTER (o.order_ts < a.ts), 0) AS c
    FROM a JOIN orders o
      ON o.user_id = a.unit_id
     AND o.order_ts >= a.ts - to_days($pre_days) AND o.order_ts < $hi
    WHERE a.variant = a.v2 AND o.status IN ('paid', 'refunded')
      AND o.order_ts >= $lo - to_days($pre_days)
    GROUP BY a.unit_id, a.variant
),
sums AS (
    SELECT variant,
           count(*) FILTER (x > 0) AS conv, sum(y) AS sy, sum(x) AS sx, sum(c) AS sc,
           sum(y * y) AS syy, sum(x * x) AS sxx, sum(x * y) AS sxy, sum(c * c) AS scc,
           sum(y * c) AS syc
    FROM per_unit GROUP BY variant
),
units AS (
    SELECT variant, count(*) FILTER (variant = v2) AS n, count(*) FILTER (variant <> v2) AS mixed
    FROM a GROUP BY variant
)
SELECT u.variant, u.n AS __units, u.mixed AS units_in_several_variants,
       u.n AS converted__n, coalesce(s.conv, 0) AS converted__sy, coalesce(s.conv, 0) AS converted__syy,
       u.n AS revenue__n, coalesce(s.sy, 0) AS revenue__sy, coalesce(s.sc, 0) AS revenue__sc,
       coalesce(s.syy, 0) AS revenue__syy, coalesce(s.scc, 0) AS revenue__scc,
       coalesce(s.syc, 0) AS revenue__syc,
       u.n AS aov__n, coalesce(s.sy, 0) AS aov__sy, coalesce(s.sx, 0) AS aov__sx,
       coalesce(s.syy, 0) AS aov__syy, coalesce(s.sxx, 0) AS aov__sxx, coalesce(s.sxy, 0) AS aov__sxy
FROM units u LEFT JOIN sums s USING (variant)
ORDER BY u.variant
