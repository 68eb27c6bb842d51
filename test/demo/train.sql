-- Train one model per user from the loaded history, and report how long it took.
SELECT clock_timestamp() AS train_started \gset

INSERT INTO login_anomaly.models (user_id, model, logins)
SELECT user_id, m, (login_anomaly.model_info(m)).logins
FROM (SELECT user_id,
			 login_anomaly.train_model(login_anomaly.features(
				 ts, ip, country, region, city, user_agent, lat, lon)) AS m
	  FROM demo.logins
	  GROUP BY user_id) t;

SELECT count(*) AS models,
	   sum(logins) AS training_logins,
	   round(extract(epoch FROM clock_timestamp() - :'train_started'::timestamptz)::numeric, 1)
		   AS seconds
FROM login_anomaly.models \gset
\echo 'Trained' :models 'models from' :training_logins 'logins in' :seconds 's.'
