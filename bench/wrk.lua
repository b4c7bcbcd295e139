-- wrk script for the BioMuseum benchmark.
--
-- Without WRK_PATHS, wrk sends its one static request (the URL on the command line), as fast as wrk can.
-- With WRK_PATHS="/a /b?x=1 ...", each connection cycles through those paths: mixed traffic.
-- Either way, `done` prints one line, "BENCH_JSON {...}", that bench/load.py parses.

local paths = os.getenv("WRK_PATHS")

if paths and paths ~= "" then
   local requests = {}
   local next_index = 0
   local threads_set_up = 0

   -- Runs in wrk's main Lua state; numbers the threads so each starts at a different place in the list.
   function setup(thread)
      threads_set_up = threads_set_up + 1
      thread:set("thread_number", threads_set_up)
   end

   function init(args)
      for path in paths:gmatch("%S+") do
         requests[#requests + 1] = wrk.format("GET", path)
      end
      next_index = (thread_number * 7) % #requests
   end

   function request()
      next_index = next_index % #requests + 1
      return requests[next_index]
   end
end

-- With WRK_COUNT_CACHE=1, each thread counts the X-Cache header of its responses (HIT, MISS, none), and
-- `done` adds them up: the page cache's hit ratio as the clients saw it.
local threads = {}
local counting = os.getenv("WRK_COUNT_CACHE") == "1"

if counting then
   local numbering = setup
   function setup(thread)
      if numbering then numbering(thread) end
      threads[#threads + 1] = thread
   end

   hits, misses, others = 0, 0, 0
   function response(status, headers, body)
      local state = headers["X-Cache"]
      if state == "HIT" then hits = hits + 1 elseif state == "MISS" then misses = misses + 1 else others = others + 1 end
   end
end

function done(summary, latency, requests)
   if counting then
      local total_hits, total_misses, total_others = 0, 0, 0
      for _, thread in ipairs(threads) do
         total_hits = total_hits + thread:get("hits")
         total_misses = total_misses + thread:get("misses")
         total_others = total_others + thread:get("others")
      end
      io.write(string.format('BENCH_CACHE {"hits": %d, "misses": %d, "others": %d}\n', total_hits, total_misses,
         total_others))
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, "read_errors": %d, '
         .. '"write_errors": %d, "timeout_errors": %d, "http_errors": %d, "latency_mean_us": %.1f, '
         .. '"latency_p50_us": %d, "latency_p90_us": %d, "latency_p99_us": %d, "latency_max_us": %d}\n',
      summary.requests, summary.duration, summary.bytes, errors.connect, errors.read, errors.write,
      errors.timeout, errors.status, latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max
   ))
end
