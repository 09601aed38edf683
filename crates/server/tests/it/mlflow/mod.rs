mod experiments;
