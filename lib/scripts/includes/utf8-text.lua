-- Helper included by the scripts: it reads no KEYS or ARGV of its own.
-- utf16Length(s): the length of `s` as JavaScript counts it (UTF-16 code units: a character past
-- U+FFFF counts 2), or nil when its bytes are not UTF-8 text as Node decodes it without loss (an
-- overlong form, a UTF-16 surrogate, a code point past U+10FFFF). Redis values are bytes; a reader
-- in Node turns each byte that is not such text into U+FFFD, so a value it reads back and sends
-- again (a room cursor, a delayed member) no longer names the same bytes.
local function utf16Length(s)
  -- ASCII only (every task name, most ids and groups): one search, no loop.
  if not string.find(s, '[\128-\255]') then return #s end
  local i, n, units = 1, #s, 0
  while i <= n do
    local c = string.byte(s, i)
    local len
    if c < 0x80 then len = 1
    elseif c >= 0xC2 and c <= 0xDF then len = 2
    elseif c >= 0xE0 and c <= 0xEF then len = 3
    elseif c >= 0xF0 and c <= 0xF4 then len = 4
    else return nil end
    for j = i + 1, i + len - 1 do
      local d = string.byte(s, j)
      if not d or d < 0x80 or d > 0xBF then return nil end
    end
    -- The second byte's narrower ranges: overlong forms (E0, F0), surrogates (ED), past U+10FFFF (F4).
    local d = string.byte(s, i + 1)
    if (c == 0xE0 and d < 0xA0) or (c == 0xED and d > 0x9F) or (c == 0xF0 and d < 0x90) or (c == 0xF4 and d > 0x8F) then
      return nil
    end
    units = units + (len == 4 and 2 or 1)
    i = i + len
  end
  return units
end

local function isUtf8Text(s) return utf16Length(s) ~= nil end
