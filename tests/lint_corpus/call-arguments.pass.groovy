pipeline {
    agent any
    triggers {
        cron('H 2 * * *')
    }
    parameters {
        booleanParam(name: 'FLAG', defaultValue: false, description: 'a flag')
        choice(name: 'JDK', choices: ['11', '17'], description: 'which JDK')
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
