-- A deliberately slow count for the query time limit test (minutes of work), one row.
-- Params: $modulus (integer)
-- Returns: matches
select count(*) as matches
from range(1000000000000) as numbers(i)
where i % $modulus = 3
